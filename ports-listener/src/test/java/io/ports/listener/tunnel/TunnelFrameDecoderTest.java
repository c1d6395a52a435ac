package io.ports.listener.tunnel;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocket08FrameDecoder;
import io.netty.handler.codec.http.websocketx.WebSocket08FrameEncoder;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * {@link TunnelFrameDecoder} against Netty's encoders (masking as a client's, not masking as a
 * server's, and our {@link ClientFrameEncoder}), the stream split every way; and every protocol
 * violation against the close code Netty's decoder, configured as the tunnel configured it, gives.
 */
class TunnelFrameDecoderTest {
    private static final int MAX_FRAME = 4 << 20;
    private static final int MAX_MESSAGE = 8 << 20;
    private static final int BIG = 3 << 20;

    /** What a decoder passed on: data pieces joined into messages, control frames as they came. */
    private record Event(String kind, byte[] bytes, int code, String reason) {
        static Event message(byte[] b) {
            return new Event("message", b, -1, null);
        }

        static Event text(byte[] b) {
            return new Event("text", b, -1, null);
        }

        static Event ping(byte[] b) {
            return new Event("ping", b, -1, null);
        }

        static Event pong(byte[] b) {
            return new Event("pong", b, -1, null);
        }

        static Event close(int code, String reason) {
            return new Event("close", new byte[0], code, reason);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Event e && kind.equals(e.kind) && Arrays.equals(bytes, e.bytes) && code == e.code
                    && java.util.Objects.equals(reason, e.reason);
        }

        @Override
        public int hashCode() {
            return kind.hashCode();
        }

        @Override
        public String toString() {
            return kind + "(" + bytes.length + " bytes" + (code >= 0 ? ", " + code + " " + reason : "") + ")";
        }
    }

    enum Encoder {
        /** Netty's, masking: what a client sends */
        NETTY_CLIENT(true),
        /** ours, masking in place: what our client sends */
        OURS_CLIENT(true),
        /** Netty's, not masking: what a server sends */
        NETTY_SERVER(false);

        final boolean masks;

        Encoder(boolean masks) {
            this.masks = masks;
        }

        EmbeddedChannel channel() {
            return new EmbeddedChannel(this == OURS_CLIENT ? new ClientFrameEncoder() : new WebSocket08FrameEncoder(masks));
        }
    }

    static Stream<Arguments> sizesAndEncoders() {
        List<Arguments> out = new ArrayList<>();
        for (int size : new int[] {0, 1, 125, 126, 65535, 65536, 65537, BIG}) {
            for (Encoder e : Encoder.values()) {
                out.add(Arguments.of(size, e));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} bytes from {1}")
    @MethodSource("sizesAndEncoders")
    void oneFrame_ofEverySize_decodesToItsPayload_inOneRead_inPieces_andByteByByteWhenSmall(int size, Encoder encoder) {
        byte[] payload = random(size, size);
        byte[] wire = encode(encoder, binary(payload, true));
        List<Event> expected = List.of(Event.message(payload));
        assertEquals(expected, decode(encoder.masks, wire, new int[0]), "one read");
        Random r = new Random(size);
        for (int round = 0, rounds = size > 65537 ? 1 : 5; round < rounds; round++) { // 3 MiB: slow under paranoid leak detection
            assertEquals(expected, decode(encoder.masks, wire, randomSplits(r, wire.length, 1 + r.nextInt(40))), "random reads, round " + round);
        }
        if (wire.length <= 200) {
            for (int at = 1; at < wire.length; at++) {
                assertEquals(expected, decode(encoder.masks, wire, new int[] {at}), "split at byte " + at);
            }
            assertEquals(expected, decode(encoder.masks, wire, everyByte(wire.length)), "one byte per read");
        }
        // the pieces of a big frame are slices of the reads, as they came: not one copy of the whole frame
        if (size >= 65536) {
            int[] splits = {wire.length / 3, 2 * wire.length / 3};
            assertEquals(3, pieces(encoder.masks, wire, splits), "one piece per read");
        }
    }

    @Test
    void aStreamOfFragmentsAndInterleavedControlFrames_decodesTheSameHoweverItIsSplit() {
        for (Encoder encoder : Encoder.values()) {
            byte[] a = random(3, 1);
            byte[] b = random(125, 2);
            byte[] c = random(126, 3);
            byte[] d = random(17, 4);
            byte[] ping = random(125, 5);
            byte[] wire = concat(
                    encode(encoder, new BinaryWebSocketFrame(false, 0, Unpooled.wrappedBuffer(a))),
                    encode(encoder, new PingWebSocketFrame(Unpooled.wrappedBuffer(ping))),
                    encode(encoder, new ContinuationWebSocketFrame(false, 0, Unpooled.EMPTY_BUFFER)),
                    encode(encoder, new PongWebSocketFrame(Unpooled.EMPTY_BUFFER)),
                    encode(encoder, new ContinuationWebSocketFrame(true, 0, Unpooled.wrappedBuffer(b))),
                    encode(encoder, binary(c, true)),
                    encode(encoder, new BinaryWebSocketFrame(true, 0, Unpooled.EMPTY_BUFFER)),
                    encode(encoder, new TextWebSocketFrame(false, 0, Unpooled.copiedBuffer("hé", StandardCharsets.UTF_8))),
                    encode(encoder, new ContinuationWebSocketFrame(true, 0, Unpooled.copiedBuffer("llo", StandardCharsets.UTF_8))),
                    encode(encoder, new PingWebSocketFrame(Unpooled.EMPTY_BUFFER)),
                    encode(encoder, binary(d, true)),
                    encode(encoder, new CloseWebSocketFrame(1000, "bye é")),
                    // after the Close: discarded, even a frame that would be a violation
                    encode(encoder, binary(a, true)), new byte[] {(byte) 0xFF, (byte) 0xFF});
            List<Event> expected = List.of(
                    Event.ping(ping), Event.pong(new byte[0]), Event.message(concat(a, b)), Event.message(c), Event.message(new byte[0]),
                    Event.text("héllo".getBytes(StandardCharsets.UTF_8)), Event.ping(new byte[0]), Event.message(d), Event.close(1000, "bye é"));
            assertEquals(expected, decode(encoder.masks, wire, new int[0]), encoder + ", one read");
            for (int at = 1; at < wire.length; at++) {
                assertEquals(expected, decode(encoder.masks, wire, new int[] {at}), encoder + ", split at byte " + at);
            }
            for (int at = 1; at + 7 < wire.length; at += 7) {
                assertEquals(expected, decode(encoder.masks, wire, new int[] {at, at + 7}), encoder + ", three reads at " + at);
            }
            assertEquals(expected, decode(encoder.masks, wire, everyByte(wire.length)), encoder + ", one byte per read");
        }
    }

    @Test
    void aBigFragmentedMessage_withPingsBetween_comesOutWhole() {
        byte[] whole = random(BIG + 7, 9);
        int[] cuts = {0, 70_000, 70_000, 1 << 20, BIG, BIG + 7};
        List<byte[]> parts = new ArrayList<>();
        for (int i = 0; i + 1 < cuts.length; i++) {
            WebSocketFrame f = i == 0 ? new BinaryWebSocketFrame(false, 0, Unpooled.wrappedBuffer(whole, cuts[i], cuts[i + 1] - cuts[i]))
                    : new ContinuationWebSocketFrame(i + 2 == cuts.length, 0, Unpooled.wrappedBuffer(whole, cuts[i], cuts[i + 1] - cuts[i]));
            parts.add(encode(Encoder.NETTY_CLIENT, f));
            parts.add(encode(Encoder.NETTY_CLIENT, new PingWebSocketFrame(Unpooled.wrappedBuffer(new byte[] {(byte) i}))));
        }
        byte[] wire = concat(parts.toArray(new byte[0][]));
        List<Event> got = decode(true, wire, randomSplits(new Random(1), wire.length, 60));
        assertEquals(6, got.size());
        assertEquals(Event.message(whole), got.get(4), "the message after the four pings inside it");
        assertEquals(Event.ping(new byte[] {4}), got.get(5));
    }

    @Test
    void readOnlyReads_areCopied_notUnmaskedInPlace() {
        byte[] payload = random(5000, 11);
        byte[] wire = encode(Encoder.NETTY_CLIENT, binary(payload, true));
        EmbeddedChannel ch = decoderChannel(true);
        byte[] bytes = wire.clone();
        ByteBuf read = Unpooled.wrappedBuffer(bytes).asReadOnly();
        ch.writeInbound(read);
        BinaryWebSocketFrame f = ch.readInbound();
        assertArrayEquals(payload, ByteBufUtil.getBytes(f.content()));
        f.release();
        assertEquals(0, read.refCnt());
        assertArrayEquals(wire, bytes, "the read-only buffer's bytes are as they were");
        assertFalse(ch.finishAndReleaseAll());
    }

    // ------------------------------------------------------------------------------- violations

    static Stream<Arguments> violations() {
        byte[] five = {1, 2, 3, 4, 5};
        return Stream.of(
                Arguments.of("RSV1 set", 1002, frame(0x80 | 0x40 | 0x2, true, five)),
                Arguments.of("RSV3 set on a Ping", 1002, frame(0x80 | 0x10 | 0x9, true, five)),
                Arguments.of("a fragmented Ping", 1002, frame(0x09, true, five)),
                Arguments.of("a Ping of 126 bytes", 1002, frame(0x89, true, new byte[126])),
                Arguments.of("the reserved control opcode 0xB", 1002, frame(0x8B, true, five)),
                Arguments.of("a Close of one byte", 1002, frame(0x88, true, new byte[] {3})),
                Arguments.of("the reserved data opcode 3", 1002, frame(0x83, true, five)),
                Arguments.of("a continuation outside a message", 1002, frame(0x80, true, five)),
                Arguments.of("a binary frame inside a fragmented message", 1002, concat(frame(0x02, true, five), frame(0x82, true, five))),
                Arguments.of("a text frame inside a fragmented message", 1002, concat(frame(0x02, true, five), frame(0x81, true, five))),
                Arguments.of("126 for a length of 100", 1002, withLength(0x82, 126, 100)),
                Arguments.of("127 for a length of 1000", 1002, withLength(0x82, 127, 1000)),
                Arguments.of("127 for a negative length", 1002, withLength(0x82, 127, Long.MIN_VALUE + 5)),
                Arguments.of("a frame over the max frame payload", 1009, withLength(0x82, 127, MAX_FRAME + 1L)),
                Arguments.of("a frame of 2^62 bytes", 1009, withLength(0x82, 127, 1L << 62)));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("violations")
    void everyViolation_closesWithTheCodeNettysDecoderGives_andDiscardsTheRest(String what, int code, byte[] bad) {
        assertEquals(code, nettysCloseCode(bad), "Netty's decoder, as the tunnel configured it, for " + what);
        byte[] ok = random(10, 1);
        byte[] wire = concat(frame(0x82, true, ok), bad, frame(0x82, true, ok));
        for (int[] splits : new int[][] {{}, {1}, {wire.length / 2}, everyByte(wire.length)}) {
            EmbeddedChannel ch = decoderChannel(true);
            List<ByteBuf> reads = new ArrayList<>();
            CorruptedWebSocketFrameException e = assertThrows(CorruptedWebSocketFrameException.class,
                    () -> feedRecording(ch, wire, splits, reads), what);
            assertEquals(code, e.closeStatus().code(), what);
            List<Event> got = drain(ch);
            assertEquals(List.of(Event.message(ok)), got, "the frame before is passed on, nothing after: " + what);
            CloseWebSocketFrame sent = ch.readOutbound();
            assertEquals(code, sent.statusCode(), "the Close sent");
            assertTrue(sent.reasonText().length() > 5, sent.reasonText());
            sent.release();
            assertFalse(ch.isOpen(), "closed once the Close is written");
            assertNull(ch.readOutbound());
            ch.finishAndReleaseAll();
            for (ByteBuf b : reads) {
                assertEquals(0, b.refCnt(), "every read released, those after the violation too");
            }
        }
    }

    @Test
    void frameAndMessageLimits_closeWith1009_fromTheHeaderAlone() {
        EmbeddedChannel ch = new EmbeddedChannel(new TunnelFrameDecoder(true, 1024, 2048));
        feed(ch, frame(0x02, true, new byte[1024]), new int[0]); // 1024: the limit, allowed
        feed(ch, frame(0x00, true, new byte[1000]), new int[0]);
        for (int i = 0; i < 2; i++) {
            WebSocketFrame piece = ch.readInbound();
            assertFalse(piece.isFinalFragment());
            piece.release();
        }
        byte[] header = Arrays.copyOf(frame(0x80, true, new byte[125]), 2 + 4); // a continuation of 125 bytes: 2149 in all
        CorruptedWebSocketFrameException e = assertThrows(CorruptedWebSocketFrameException.class, () -> feed(ch, header, new int[0]));
        assertEquals(1009, e.closeStatus().code());
        ch.finishAndReleaseAll();

        EmbeddedChannel one = new EmbeddedChannel(new TunnelFrameDecoder(true, 1024, 2048));
        e = assertThrows(CorruptedWebSocketFrameException.class, () -> feed(one, Arrays.copyOf(withLength(0x82, 126, 1025), 8), new int[0]));
        assertEquals(1009, e.closeStatus().code());
        one.finishAndReleaseAll();
    }

    @Test
    void maskedFramesFromAServer_andUnmaskedOnesFromAClient_are1002() {
        for (boolean server : new boolean[] {true, false}) {
            EmbeddedChannel ch = decoderChannel(server);
            byte[] wrong = frame(0x82, !server, new byte[] {1, 2});
            CorruptedWebSocketFrameException e = assertThrows(CorruptedWebSocketFrameException.class, () -> feed(ch, wrong, new int[0]));
            assertEquals(1002, e.closeStatus().code());
            CloseWebSocketFrame sent = ch.readOutbound();
            assertEquals(1002, sent.statusCode());
            sent.release();
            ch.finishAndReleaseAll();
        }
    }

    @Test
    void closeBodies_invalidCodes1002_invalidUtf8Reason1007_validOnesPassedOn() {
        for (int code : new int[] {0, 999, 1004, 1005, 1006, 1015, 1016, 2999}) {
            byte[] close = frame(0x88, true, new byte[] {(byte) (code >> 8), (byte) code});
            EmbeddedChannel ch = decoderChannel(true);
            CorruptedWebSocketFrameException e = assertThrows(CorruptedWebSocketFrameException.class, () -> feed(ch, close, new int[0]), "code " + code);
            assertEquals(1002, e.closeStatus().code(), "code " + code);
            ch.finishAndReleaseAll();
        }
        byte[] badUtf8 = frame(0x88, true, new byte[] {0x03, (byte) 0xE8, (byte) 0xC3, 0x28});
        EmbeddedChannel ch = decoderChannel(true);
        CorruptedWebSocketFrameException e = assertThrows(CorruptedWebSocketFrameException.class, () -> feed(ch, badUtf8, new int[] {3, 8}));
        assertEquals(1007, e.closeStatus().code());
        ch.finishAndReleaseAll();
        for (int code : new int[] {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999, 5000, 65535}) { // Netty's rule: 3000 and up
            byte[] close = frame(0x88, true, new byte[] {(byte) (code >> 8), (byte) code, 'o', 'k'});
            assertEquals(List.of(Event.close(code, "ok")), decode(true, close, new int[] {2}), "code " + code);
        }
        assertEquals(List.of(Event.close(-1, "")), decode(true, frame(0x88, true, new byte[0]), new int[0]), "a Close without a status");
    }

    // --------------------------------------------------------------------------------- helpers

    private static int nettysCloseCode(byte[] wire) {
        EmbeddedChannel ch = new EmbeddedChannel(new WebSocket08FrameDecoder(WebSocketDecoderConfig.newBuilder()
                .maxFramePayloadLength(MAX_FRAME).expectMaskedFrames(true).allowMaskMismatch(false).allowExtensions(false)
                .closeOnProtocolViolation(true).build()));
        try {
            ch.writeInbound(Unpooled.wrappedBuffer(wire));
            fail("Netty's decoder accepted it");
        } catch (CorruptedWebSocketFrameException e) {
            CloseWebSocketFrame sent = ch.readOutbound();
            assertEquals(e.closeStatus().code(), sent.statusCode());
            sent.release();
            return e.closeStatus().code();
        } finally {
            ch.finishAndReleaseAll();
        }
        return -1;
    }

    private static EmbeddedChannel decoderChannel(boolean server) {
        return new EmbeddedChannel(new TunnelFrameDecoder(server, MAX_FRAME, MAX_MESSAGE));
    }

    /** Decodes the wire split at {@code splits} into reads and joins the pieces; checks that nothing leaked. */
    private static List<Event> decode(boolean server, byte[] wire, int[] splits) {
        EmbeddedChannel ch = decoderChannel(server);
        List<ByteBuf> reads = feed(ch, wire, splits);
        List<Event> events = drain(ch);
        assertNull(ch.readOutbound(), "nothing written");
        assertFalse(ch.finishAndReleaseAll(), "nothing left over");
        for (ByteBuf b : reads) {
            assertEquals(0, b.refCnt(), "every read released once its pieces were");
        }
        return events;
    }

    /** How many data pieces the reads make. */
    private static int pieces(boolean server, byte[] wire, int[] splits) {
        EmbeddedChannel ch = decoderChannel(server);
        feed(ch, wire, splits);
        int n = 0;
        Object o;
        while ((o = ch.readInbound()) != null) {
            n++;
            ((WebSocketFrame) o).release();
        }
        ch.finishAndReleaseAll();
        return n;
    }

    /** Writes the wire as reads of pooled direct buffers cut at {@code splits}; returns the reads. */
    private static List<ByteBuf> feed(EmbeddedChannel ch, byte[] wire, int[] splits) {
        return feedRecording(ch, wire, splits, new ArrayList<>());
    }

    /** {@link #feed}, adding each read to {@code reads} as it is made (also when an exception ends the feeding). */
    private static List<ByteBuf> feedRecording(EmbeddedChannel ch, byte[] wire, int[] splits, List<ByteBuf> reads) {
        int from = 0;
        for (int i = 0; i <= splits.length; i++) {
            int to = i < splits.length ? splits[i] : wire.length;
            ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(to - from + 16).writeBytes(wire, from, to - from);
            reads.add(b);
            if (!ch.isOpen()) {
                b.release(); // closed after a violation: a real channel reads nothing more (and its pipeline is gone)
                from = to;
                continue;
            }
            // not writeInbound: it refuses a closed channel, and what comes after a violation must be discarded too
            ch.pipeline().fireChannelRead(b);
            ch.pipeline().fireChannelReadComplete();
            ch.runPendingTasks();
            from = to;
        }
        ch.checkException(); // the first exception that reached the end of the pipeline
        return reads;
    }

    /** Joins what the decoder passed on into messages, checking the piece sequence is a valid fragmentation. */
    private static List<Event> drain(EmbeddedChannel ch) {
        List<Event> out = new ArrayList<>();
        ByteArrayOutputStream message = null;
        boolean text = false;
        Object o;
        while ((o = ch.readInbound()) != null) {
            WebSocketFrame f = (WebSocketFrame) o;
            try {
                byte[] bytes = ByteBufUtil.getBytes(f.content());
                assertEquals(0, f.rsv());
                if (f instanceof BinaryWebSocketFrame || f instanceof TextWebSocketFrame) {
                    assertNull(message, "a new message inside one");
                    message = new ByteArrayOutputStream();
                    text = f instanceof TextWebSocketFrame;
                    message.writeBytes(bytes);
                } else if (f instanceof ContinuationWebSocketFrame) {
                    assertTrue(message != null, "a continuation outside a message");
                    message.writeBytes(bytes);
                } else if (f instanceof PingWebSocketFrame) {
                    out.add(Event.ping(bytes));
                    continue;
                } else if (f instanceof PongWebSocketFrame) {
                    out.add(Event.pong(bytes));
                    continue;
                } else if (f instanceof CloseWebSocketFrame) {
                    CloseWebSocketFrame c = (CloseWebSocketFrame) f;
                    out.add(Event.close(c.statusCode(), c.reasonText() == null ? "" : c.reasonText()));
                    continue;
                } else {
                    fail("unexpected " + f);
                }
                if (f.isFinalFragment()) {
                    out.add(text ? Event.text(message.toByteArray()) : Event.message(message.toByteArray()));
                    message = null;
                }
            } finally {
                f.release();
            }
        }
        return out;
    }

    private static byte[] encode(Encoder encoder, WebSocketFrame frame) {
        if (encoder == Encoder.OURS_CLIENT && frame.getClass() == BinaryWebSocketFrame.class && frame.isFinalFragment()) {
            frame = new Bridge.OwnedFrame(frame.content()); // masked in place, as the bridge's frames are
        }
        EmbeddedChannel ch = encoder.channel();
        ch.writeOutbound(frame);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteBuf b;
        while ((b = ch.readOutbound()) != null) {
            out.writeBytes(ByteBufUtil.getBytes(b));
            b.release();
        }
        ch.finishAndReleaseAll();
        return out.toByteArray();
    }

    private static WebSocketFrame binary(byte[] payload, boolean fin) {
        return new BinaryWebSocketFrame(fin, 0, Unpooled.wrappedBuffer(payload.clone()));
    }

    /** A frame with first byte {@code b0}, masked with a fixed key when asked. */
    private static byte[] frame(int b0, boolean mask, byte[] payload) {
        ByteBuf b = Unpooled.buffer();
        b.writeByte(b0);
        int m = mask ? 0x80 : 0;
        if (payload.length <= 125) {
            b.writeByte(m | payload.length);
        } else if (payload.length <= 0xFFFF) {
            b.writeByte(m | 126).writeShort(payload.length);
        } else {
            b.writeByte(m | 127).writeLong(payload.length);
        }
        byte[] key = {0x37, (byte) 0xfa, 0x21, 0x3d};
        if (mask) {
            b.writeBytes(key);
        }
        for (int i = 0; i < payload.length; i++) {
            b.writeByte(mask ? payload[i] ^ key[i & 3] : payload[i]);
        }
        byte[] out = ByteBufUtil.getBytes(b);
        b.release();
        return out;
    }

    /** A masked frame header with the length in the given encoding (126: 16 bits, 127: 64 bits) and 8 payload bytes. */
    private static byte[] withLength(int b0, int len1, long length) {
        ByteBuf b = Unpooled.buffer();
        b.writeByte(b0).writeByte(0x80 | len1);
        if (len1 == 126) {
            b.writeShort((int) length);
        } else {
            b.writeLong(length);
        }
        b.writeInt(0x11223344).writeZero(8);
        byte[] out = ByteBufUtil.getBytes(b);
        b.release();
        return out;
    }

    private static int[] randomSplits(Random r, int length, int count) {
        return r.ints(count, 1, Math.max(2, length)).distinct().sorted().filter(i -> i < length).toArray();
    }

    private static int[] everyByte(int length) {
        int[] s = new int[Math.max(0, length - 1)];
        for (int i = 0; i < s.length; i++) {
            s[i] = i + 1;
        }
        return s;
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }
}
