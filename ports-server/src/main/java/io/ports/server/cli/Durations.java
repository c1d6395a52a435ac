package io.ports.server.cli;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Durations as people write them on a command line: {@code 500ms}, {@code 30s}, {@code 5m}, {@code 1h30m}, or plain seconds. */
final class Durations {
    /** Units from largest to smallest, each at most once: {@code 1h30m}, {@code 2m15s}, {@code 1s250ms}. */
    private static final Pattern UNITS = Pattern.compile("(?:(\\d{1,18})h)?(?:(\\d{1,18})m(?!s))?(?:(\\d{1,18})s)?(?:(\\d{1,18})ms)?");
    private static final Pattern SECONDS = Pattern.compile("\\d{1,18}");

    private Durations() {
    }

    /**
     * @throws IllegalArgumentException naming the input and the forms accepted
     */
    static Duration parse(String text) {
        String s = text == null ? "" : text.strip().toLowerCase(Locale.ROOT);
        try {
            if (SECONDS.matcher(s).matches()) {
                return Duration.ofSeconds(Long.parseLong(s));
            }
            Matcher m = UNITS.matcher(s);
            if (!s.isEmpty() && m.matches()) {
                return Duration.ofHours(number(m.group(1)))
                        .plusMinutes(number(m.group(2)))
                        .plusSeconds(number(m.group(3)))
                        .plusMillis(number(m.group(4)));
            }
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("duration '" + text + "' is too long", e);
        }
        throw new IllegalArgumentException("invalid duration '" + text
                + "': expected a number with a unit (ms, s, m, h), such as 500ms, 30s, 5m, 1h or 1h30m, or a plain number of seconds");
    }

    private static long number(String digits) {
        return digits == null ? 0 : Long.parseLong(digits);
    }

    /** The shortest of our forms: {@code 30s}, {@code 1h30m}, {@code 1s500ms}, {@code 0s}. */
    static String format(Duration d) {
        if (d.isZero()) {
            return "0s";
        }
        StringBuilder b = new StringBuilder();
        long h = d.toHours();
        int m = d.toMinutesPart();
        int s = d.toSecondsPart();
        int ms = d.toMillisPart();
        if (h > 0) {
            b.append(h).append('h');
        }
        if (m > 0) {
            b.append(m).append('m');
        }
        if (s > 0) {
            b.append(s).append('s');
        }
        if (ms > 0) {
            b.append(ms).append("ms");
        }
        return b.length() == 0 ? d.toString() : b.toString();
    }
}
