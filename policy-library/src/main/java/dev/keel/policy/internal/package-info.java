/**
 * The parser's internals: a located YAML/JSON tree ({@link dev.keel.policy.internal.TreeReader}), the strict
 * binder from tree to records ({@link dev.keel.policy.internal.Binder}), Istio's validation rules
 * ({@link dev.keel.policy.internal.Validator}) and the value checks they use. Not API.
 */
package dev.keel.policy.internal;
