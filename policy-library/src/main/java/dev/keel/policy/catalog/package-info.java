/**
 * Ready-made policies with explanations: {@link dev.keel.policy.catalog.PolicyCatalog}, listed and
 * instantiated by {@code keel policy catalog}.
 */
package dev.keel.policy.catalog;
