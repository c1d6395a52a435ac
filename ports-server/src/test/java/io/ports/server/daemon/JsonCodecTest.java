package io.ports.server.daemon;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

class JsonCodecTest {
    private static void same(Instant i) {
        String expected = JsonCodec.INSTANT.format(i);
        assertEquals(expected, JsonCodec.format(i), i::toString);
        assertEquals('"' + expected + '"', new String(JsonCodec.write(i), StandardCharsets.UTF_8), i::toString);
    }

    @Test
    void instants_areWrittenAsTheFormatterWritesThem() {
        List<Instant> edges = new ArrayList<>(List.of(
                Instant.EPOCH, Instant.EPOCH.minusNanos(1), Instant.EPOCH.plusMillis(1).minusNanos(1),
                Instant.parse("2024-02-29T23:59:59.999999999Z"), Instant.parse("2000-03-01T00:00:00Z"),
                Instant.parse("1900-02-28T12:34:56.789Z"), Instant.parse("0001-01-01T00:00:00Z"),
                Instant.parse("9999-12-31T23:59:59.999Z"), Instant.now()));
        // outside 1-9999 the formatter's own form (signed, or year of era) is kept
        edges.add(LocalDate.of(10000, 1, 1).atStartOfDay().toInstant(ZoneOffset.UTC));
        edges.add(LocalDate.of(0, 12, 31).atStartOfDay().toInstant(ZoneOffset.UTC).plusSeconds(86_399));
        edges.add(LocalDate.of(-5, 6, 1).atStartOfDay().toInstant(ZoneOffset.UTC));
        edges.forEach(JsonCodecTest::same);
        SplittableRandom r = new SplittableRandom(9);
        long min = LocalDate.of(1, 1, 1).toEpochDay() * 86_400L;
        long max = LocalDate.of(9999, 12, 31).toEpochDay() * 86_400L + 86_399;
        for (int k = 0; k < 20_000; k++) {
            same(Instant.ofEpochSecond(r.nextLong(min, max + 1), r.nextInt(1_000_000_000)));
        }
    }
}
