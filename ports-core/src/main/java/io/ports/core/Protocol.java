package io.ports.core;

import java.util.Locale;

/** Transport protocols a port can be held for. */
public enum Protocol {
    TCP, UDP;

    public static Protocol parse(String text) {
        if (text != null) {
            try {
                return valueOf(text.strip().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException ignored) {
                // fall through to the message below
            }
        }
        throw new IllegalArgumentException("unknown protocol '" + text + "': expected tcp or udp");
    }
}
