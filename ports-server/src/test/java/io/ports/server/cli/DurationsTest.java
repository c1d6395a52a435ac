package io.ports.server.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DurationsTest {
    @ParameterizedTest(name = "{0} = {1} ms")
    @CsvSource({"500ms, 500", "30s, 30000", "5m, 300000", "1h, 3600000", "1h30m, 5400000", "2m15s, 135000",
        "1s250ms, 1250", "45, 45000", "0, 0", "' 10S ', 10000", "90m, 5400000"})
    void parse_acceptedForms_giveTheDuration(String text, long millis) {
        assertEquals(Duration.ofMillis(millis), Durations.parse(text));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "s", "5x", "1.5s", "-5s", "1m1h", "30s5m", "5 m", "1d", "ms", "99999999999999999999"})
    void parse_anythingElse_isRejectedNamingTheInput(String text) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Durations.parse(text));
        assertTrue(e.getMessage().contains("'" + text + "'"), e.getMessage());
    }

    @Test
    void format_writesTheShortestForm() {
        assertEquals("30s", Durations.format(Duration.ofSeconds(30)));
        assertEquals("1h30m", Durations.format(Duration.ofMinutes(90)));
        assertEquals("500ms", Durations.format(Duration.ofMillis(500)));
        assertEquals("1s500ms", Durations.format(Duration.ofMillis(1500)));
        assertEquals("0s", Durations.format(Duration.ZERO));
        assertEquals("26h", Durations.format(Duration.ofHours(26)));
    }
}
