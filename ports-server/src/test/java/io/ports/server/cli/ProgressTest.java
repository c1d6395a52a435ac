package io.ports.server.cli;

import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ProgressTest {
    @Test
    void progress_disabled_writesNothing() throws Exception {
        StringWriter err = new StringWriter();
        Progress progress = new Progress(new PrintWriter(err), "scanning", 10, false);
        Thread.sleep(150); // past the redraw interval: still nothing
        progress.update(5);
        progress.finish();
        assertEquals("", err.toString());
    }

    @Test
    void progress_enabled_drawsOnOneLineAndErasesItAtTheEnd() throws Exception {
        StringWriter err = new StringWriter();
        Progress progress = new Progress(new PrintWriter(err), "scanning", 10, true);
        Thread.sleep(150); // the bar is drawn once the redraw interval has passed, never sooner
        progress.update(5);
        String drawn = err.toString();
        assertTrue(drawn.startsWith("\rscanning ["), drawn);
        assertTrue(drawn.contains("5/10"), drawn);
        assertTrue(!drawn.contains("\n"), drawn);

        progress.finish();
        String erased = err.toString().substring(drawn.length());
        assertTrue(erased.matches("\r +\r"), erased);
    }
}
