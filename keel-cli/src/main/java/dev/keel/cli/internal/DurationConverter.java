package dev.keel.cli.internal;

import java.time.Duration;
import picocli.CommandLine;

/** Reads durations as operators write them: {@code 90s}, {@code 30m}, {@code 24h}, {@code 90d}, or ISO-8601. */
public final class DurationConverter implements CommandLine.ITypeConverter<Duration> {

    @Override
    public Duration convert(String value) {
        return parse(value);
    }

    public static Duration parse(String value) {
        String v = value.trim();
        if (v.startsWith("P") || v.startsWith("p")) {
            return Duration.parse(v);
        }
        if (v.length() < 2) {
            throw new CommandLine.TypeConversionException("duration: \"" + value + "\" (expected: e.g. 90s, 30m, 24h, 90d)");
        }
        char unit = v.charAt(v.length() - 1);
        long amount;
        try {
            amount = Long.parseLong(v.substring(0, v.length() - 1));
        } catch (NumberFormatException e) {
            throw new CommandLine.TypeConversionException("duration: \"" + value + "\" (expected: e.g. 90s, 30m, 24h, 90d)");
        }
        if (amount < 0) {
            throw new CommandLine.TypeConversionException("duration: \"" + value + "\" (expected: >= 0)");
        }
        return switch (unit) {
            case 's' -> Duration.ofSeconds(amount);
            case 'm' -> Duration.ofMinutes(amount);
            case 'h' -> Duration.ofHours(amount);
            case 'd' -> Duration.ofDays(amount);
            default -> throw new CommandLine.TypeConversionException(
                    "duration: \"" + value + "\" has unit '" + unit + "' (expected: s, m, h or d)");
        };
    }

    /** {@code 23h 59m} style, for people. */
    public static String human(Duration d) {
        boolean negative = d.isNegative();
        Duration a = d.abs();
        long days = a.toDays();
        long hours = a.toHoursPart();
        long minutes = a.toMinutesPart();
        StringBuilder out = new StringBuilder(negative ? "-" : "");
        if (days > 0) {
            out.append(days).append("d ");
        }
        if (days > 0 || hours > 0) {
            out.append(hours).append("h ");
        }
        out.append(minutes).append("m");
        return out.toString();
    }
}
