package io.ports.server.daemon;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;

import java.io.IOException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/** The daemon's JSON: snake_case fields (from the records' annotations), timestamps as ISO-8601 UTC with milliseconds. */
final class JsonCodec {
    static final DateTimeFormatter INSTANT = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

    static final ObjectMapper MAPPER = new ObjectMapper()
            .registerModule(new JavaTimeModule())
            .registerModule(new SimpleModule("ports-instants").addSerializer(Instant.class, new JsonSerializer<Instant>() {
                @Override
                public void serialize(Instant value, JsonGenerator gen, SerializerProvider serializers) throws IOException {
                    char[] c = new char[LENGTH];
                    if (formatInto(value, c)) {
                        gen.writeString(c, 0, LENGTH);
                    } else {
                        gen.writeString(INSTANT.format(value));
                    }
                }
            }))
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private JsonCodec() {
    }

    static byte[] write(Object value) {
        try {
            return MAPPER.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write JSON of " + value.getClass().getSimpleName() + ": " + e.getOriginalMessage(), e);
        }
    }

    static String format(Instant i) {
        char[] c = new char[LENGTH];
        return formatInto(i, c) ? new String(c) : INSTANT.format(i);
    }

    /** {@code yyyy-MM-ddTHH:mm:ss.SSSZ}: 24 characters for the years 1 to 9999. */
    static final int LENGTH = 24;

    /**
     * Writes what {@link #INSTANT} makes of {@code i} into {@code c} (24 chars), by arithmetic: the formatter builds a
     * ZonedDateTime and does BigDecimal arithmetic for the fraction, for each of the two timestamps of every record
     * listed. Returns false, writing nothing useful, for a year outside 1-9999 (the formatter's own, longer or signed, form).
     */
    static boolean formatInto(Instant i, char[] c) {
        long sec = i.getEpochSecond();
        long day = Math.floorDiv(sec, 86_400L);
        int secOfDay = (int) Math.floorMod(sec, 86_400L);
        if (day < MIN_DAY || day > MAX_DAY) {
            return false;
        }
        java.time.LocalDate d = java.time.LocalDate.ofEpochDay(day);
        int y = d.getYear();
        digits(c, 0, y, 4);
        c[4] = '-';
        digits(c, 5, d.getMonthValue(), 2);
        c[7] = '-';
        digits(c, 8, d.getDayOfMonth(), 2);
        c[10] = 'T';
        digits(c, 11, secOfDay / 3600, 2);
        c[13] = ':';
        digits(c, 14, secOfDay / 60 % 60, 2);
        c[16] = ':';
        digits(c, 17, secOfDay % 60, 2);
        c[19] = '.';
        digits(c, 20, i.getNano() / 1_000_000, 3); // SSS truncates, as the formatter does
        c[23] = 'Z';
        return true;
    }

    private static final long MIN_DAY = java.time.LocalDate.of(1, 1, 1).toEpochDay();
    private static final long MAX_DAY = java.time.LocalDate.of(9999, 12, 31).toEpochDay();

    private static void digits(char[] c, int at, int value, int width) {
        for (int k = at + width - 1; k >= at; k--) {
            c[k] = (char) ('0' + value % 10);
            value /= 10;
        }
    }
}
