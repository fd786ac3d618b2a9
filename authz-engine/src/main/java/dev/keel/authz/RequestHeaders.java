package dev.keel.authz;

import java.util.Map;

/**
 * A request's headers as the proxy already holds them, read in place: a policy names few headers, so
 * copying every header of every request into a map would be work no decision uses. The view must not
 * change while the {@link AuthzRequest} built on it is being decided.
 */
public interface RequestHeaders {

    /** The values of {@code lowerCaseName} joined with {@code ,} (as Envoy presents repeated headers), or null. */
    String joined(String lowerCaseName);

    /** Every header once, by lower-case name, duplicates joined with {@code ,}: for explanations and OPA input. */
    Map<String, String> toMap();
}
