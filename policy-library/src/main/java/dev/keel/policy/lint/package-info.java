/**
 * {@code keel policy lint}: {@link dev.keel.policy.lint.PolicyLinter} reports, with stable codes
 * ({@link dev.keel.policy.lint.LintCode}), what Istio accepts but probably does not do what was meant.
 */
package dev.keel.policy.lint;
