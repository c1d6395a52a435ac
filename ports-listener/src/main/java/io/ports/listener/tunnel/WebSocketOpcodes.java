package io.ports.listener.tunnel;

/** The frame opcodes of RFC 6455 (section 5.2) that the tunnel's own encoder and decoder read and write. */
final class WebSocketOpcodes {
    static final int OPCODE_CONT = 0x0;
    static final int OPCODE_TEXT = 0x1;
    static final int OPCODE_BINARY = 0x2;
    static final int OPCODE_CLOSE = 0x8;
    static final int OPCODE_PING = 0x9;
    static final int OPCODE_PONG = 0xA;

    private WebSocketOpcodes() {
    }
}
