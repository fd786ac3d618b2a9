package dev.keel.policy.catalog;

import dev.keel.policy.internal.QuotedStrings;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Checks parameter values and writes them into a template. A value is always written as YAML data, never
 * as structure: inside a double-quoted string it is escaped, elsewhere it becomes one scalar (quoted
 * unless plainly safe), a flow sequence (lists) or a flow mapping (labels), so no value can add a field.
 * Lines between {@code #if <parameter>} and {@code #end} are kept only when the parameter is not empty.
 */
final class Template {

    private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([A-Za-z][A-Za-z0-9]*)}");
    private static final Pattern IF = Pattern.compile("#if ([A-Za-z][A-Za-z0-9]*)");
    private static final Pattern LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
    private static final Pattern SUBDOMAIN = Pattern.compile(
            "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
    private static final Pattern PLAIN = Pattern.compile("[A-Za-z/_][A-Za-z0-9._/-]*");
    /** Plain scalars YAML 1.1 would read as something other than a string. */
    private static final Set<String> RESERVED = Set.of("y", "n", "yes", "no", "on", "off", "true", "false", "null");

    private Template() {
    }

    /** Every parameter's value: given, or its default; refuses unknown, missing and malformed ones. */
    static Map<String, String> values(CatalogEntry entry, Map<String, String> given) {
        List<String> names = entry.parameters().stream().map(CatalogParameter::name).toList();
        for (String name : given.keySet()) {
            if (entry.parameter(name).isEmpty()) {
                throw new IllegalArgumentException(entry.id() + " has no parameter \"" + name + "\""
                        + Suggestions.didYouMean(name, names) + " (parameters: " + String.join(", ", names) + ")");
            }
        }
        Map<String, String> values = new LinkedHashMap<>();
        for (CatalogParameter p : entry.parameters()) {
            String value = given.containsKey(p.name()) ? given.get(p.name()) : p.defaultValue().orElse(null);
            if (value == null) {
                throw new IllegalArgumentException(entry.id() + " needs parameter \"" + p.name() + "\": " + p.description()
                        + " (set it with --set " + p.name() + "=...)");
            }
            String error = check(p.type(), value.strip());
            if (error != null) {
                throw new IllegalArgumentException("parameter " + p.name() + ": " + quote(value) + " " + error);
            }
            values.put(p.name(), value.strip());
        }
        return values;
    }

    private static String check(CatalogParameter.Type type, String value) {
        for (int i = 0; i < value.length(); i++) {
            if (Character.isISOControl(value.charAt(i))) {
                return "contains a control character";
            }
        }
        switch (type) {
            case NAME:
                return value.length() <= 253 && SUBDOMAIN.matcher(value).matches() ? null
                        : "is not a Kubernetes name (lower-case letters, digits, '-' and '.', starting and ending with"
                                + " a letter or digit)";
            case NAMESPACE:
                return LABEL.matcher(value).matches() ? null
                        : "is not a Kubernetes namespace name (lower-case letters, digits and '-', at most 63)";
            case STRING:
                return value.isEmpty() ? "must not be empty" : null;
            case URL:
                return urlError(value);
            case LIST:
                if (items(value).isEmpty() || items(value).stream().anyMatch(String::isEmpty)) {
                    return "must be one or more comma-separated values, none of them empty";
                }
                return items(value).stream().anyMatch(v -> v.startsWith("spiffe://"))
                        ? "has a value with \"spiffe://\": Istio principals are written without it" : null;
            case LABELS:
                for (String item : value.isEmpty() ? List.<String>of() : items(value)) {
                    int eq = item.indexOf('=');
                    if (eq <= 0) {
                        return "must be comma-separated key=value labels, e.g. app=web,tier=front";
                    }
                }
                return null;
            default:
                throw new AssertionError(type);
        }
    }

    private static String urlError(String value) {
        try {
            URI uri = new URI(value);
            if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) || uri.getHost() == null) {
                return "is not an http or https URL with a host";
            }
            return null;
        } catch (URISyntaxException e) {
            return "is not a URL: " + e.getReason();
        }
    }

    static String render(CatalogEntry entry, Map<String, String> values) {
        StringBuilder out = new StringBuilder("# keel policy catalog: ").append(entry.id()).append(" - ")
                .append(entry.title()).append('\n');
        Boolean keep = null;
        for (String line : entry.template().split("\n", -1)) {
            String trimmed = line.strip();
            Matcher ifMatcher = IF.matcher(trimmed);
            if (ifMatcher.matches()) {
                keep = !valueOf(entry, values, ifMatcher.group(1)).isEmpty();
                continue;
            }
            if (trimmed.equals("#end")) {
                keep = null;
                continue;
            }
            if (Boolean.FALSE.equals(keep)) {
                continue;
            }
            out.append(substitute(entry, values, line)).append('\n');
        }
        // split(-1) leaves one empty string after the template's final newline.
        out.setLength(out.length() - 1);
        return out.toString();
    }

    private static String substitute(CatalogEntry entry, Map<String, String> values, String line) {
        StringBuilder out = new StringBuilder();
        Matcher m = PLACEHOLDER.matcher(line);
        int at = 0;
        while (m.find()) {
            out.append(line, at, m.start());
            String name = m.group(1);
            String value = valueOf(entry, values, name);
            CatalogParameter.Type type = entry.parameter(name).orElseThrow().type();
            out.append(insideQuotes(line, m.start()) ? QuotedStrings.escape(value) : node(type, value));
            at = m.end();
        }
        return out.append(line.substring(at)).toString();
    }

    private static String valueOf(CatalogEntry entry, Map<String, String> values, String name) {
        String value = values.get(name);
        if (value == null) {
            throw new IllegalStateException("template " + entry.id() + " uses ${" + name + "}, which is not a parameter");
        }
        return value;
    }

    /** Whether an odd number of unescaped double quotes precede {@code index} on the line. */
    private static boolean insideQuotes(String line, int index) {
        boolean inside = false;
        for (int i = 0; i < index; i++) {
            char c = line.charAt(i);
            if (c == '\\' && inside) {
                i++;
            } else if (c == '"') {
                inside = !inside;
            }
        }
        return inside;
    }

    private static String node(CatalogParameter.Type type, String value) {
        switch (type) {
            case LIST:
                return "[" + String.join(", ", items(value).stream().map(Template::scalar).toList()) + "]";
            case LABELS: {
                List<String> pairs = new ArrayList<>();
                for (String item : value.isEmpty() ? List.<String>of() : items(value)) {
                    int eq = item.indexOf('=');
                    pairs.add(scalar(item.substring(0, eq).strip()) + ": " + scalar(item.substring(eq + 1).strip()));
                }
                return "{" + String.join(", ", pairs) + "}";
            }
            default:
                return scalar(value);
        }
    }

    private static List<String> items(String value) {
        List<String> items = new ArrayList<>();
        for (String item : value.split(",", -1)) {
            items.add(item.strip());
        }
        return items;
    }

    static String scalar(String value) {
        return PLAIN.matcher(value).matches() && !RESERVED.contains(value.toLowerCase(java.util.Locale.ROOT))
                ? value : "\"" + QuotedStrings.escape(value) + "\"";
    }

    private static String quote(String value) {
        return "\"" + QuotedStrings.escape(value) + "\"";
    }
}
