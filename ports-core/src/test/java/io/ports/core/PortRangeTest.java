package io.ports.core;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PortRangeTest {

    @Test
    void of_isInclusiveOnBothEnds() {
        PortRange r = PortRange.of(15000, 15999);
        assertEquals(1000, r.size());
        assertTrue(r.contains(15000));
        assertTrue(r.contains(15999));
        assertFalse(r.contains(16000));
    }

    @Test
    void closedOpen_excludesTheEnd() {
        assertEquals(PortRange.of(15000, 15999), PortRange.closedOpen(15000, 16000));
    }

    @Test
    void closedOpen_empty_isRejectedWithTheInput() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PortRange.closedOpen(8000, 8000));
        assertTrue(e.getMessage().contains("[8000, 8000)"), e.getMessage());
    }

    @Test
    void parse_rangeAndSinglePortAndBlanks() {
        assertEquals(PortRange.of(15000, 15999), PortRange.parse("15000-15999"));
        assertEquals(PortRange.of(15000, 15999), PortRange.parse(" 15000 - 15999 "));
        assertEquals(PortRange.single(8080), PortRange.parse("8080"));
        assertEquals("15000-15999", PortRange.of(15000, 15999).toString());
        assertEquals("8080", PortRange.single(8080).toString());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "abc", "0-10", "10-70000", "2000-1000", "-5", "1-2-3", "65536", "15000-", "x-y"})
    void parse_badInput_namesTheInputAndTheValidForm(String text) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PortRange.parse(text));
        assertTrue(e.getMessage().contains("'" + text + "'"), e.getMessage());
        assertTrue(e.getMessage().contains("START-END"), e.getMessage());
        assertTrue(e.getMessage().contains("1-65535"), e.getMessage());
    }

    @Test
    void parse_null_isRejected() {
        assertThrows(IllegalArgumentException.class, () -> PortRange.parse(null));
    }

    @Test
    void constructor_outOfBoundsOrReversed_isRejected() {
        assertThrows(IllegalArgumentException.class, () -> PortRange.of(0, 10));
        assertThrows(IllegalArgumentException.class, () -> PortRange.of(10, 65536));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PortRange.of(2000, 1000));
        assertTrue(e.getMessage().contains("2000-1000"), e.getMessage());
    }

    @Test
    void iterator_visitsEveryPortInOrder() {
        int expected = 100;
        for (int p : PortRange.of(100, 104)) {
            assertEquals(expected++, p);
        }
        assertEquals(105, expected);
    }

    @Test
    void overlapsAndContains() {
        PortRange a = PortRange.of(100, 200);
        assertTrue(a.overlaps(PortRange.of(200, 300)));
        assertFalse(a.overlaps(PortRange.of(201, 300)));
        assertTrue(a.contains(PortRange.of(150, 160)));
        assertTrue(PortRange.of(80, 90).includesPrivileged());
        assertFalse(PortRange.of(1024, 1030).includesPrivileged());
    }

    @Test
    void portsParse_badValues_nameTheValue() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Ports.parse("70000", "PORT"));
        assertTrue(e.getMessage().contains("PORT 70000 is out of range: expected 1-65535"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Ports.parse("http", "PORT"));
        assertTrue(e.getMessage().contains("PORT 'http' is not a port"), e.getMessage());
    }
}
