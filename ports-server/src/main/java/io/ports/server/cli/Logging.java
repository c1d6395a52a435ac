package io.ports.server.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import org.slf4j.ILoggerFactory;
import org.slf4j.LoggerFactory;

/** Raises the log levels set by {@code logback.xml} (WARN, to stderr) when asked with {@code -v}. */
final class Logging {
    private Logging() {
    }

    /** 0: as configured; 1: io.ports at INFO; 2: io.ports at DEBUG; 3 or more: io.netty at DEBUG too. */
    static void configure(int verbosity) {
        if (verbosity <= 0) {
            return;
        }
        ILoggerFactory factory = LoggerFactory.getILoggerFactory();
        if (!(factory instanceof LoggerContext)) {
            return; // another binding: leave its configuration alone
        }
        LoggerContext ctx = (LoggerContext) factory;
        ctx.getLogger("io.ports").setLevel(verbosity == 1 ? Level.INFO : Level.DEBUG);
        // logback.xml mutes PortAllocator's warnings, which repeat the errors the command prints; verbose shows them
        ctx.getLogger("io.ports.core.PortAllocator").setLevel(null);
        if (verbosity >= 3) {
            ctx.getLogger("io.netty").setLevel(Level.DEBUG);
        }
    }
}
