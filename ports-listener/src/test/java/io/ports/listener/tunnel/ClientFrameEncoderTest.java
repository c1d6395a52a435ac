package io.ports.listener.tunnel;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameDecoder;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link ClientFrameEncoder} against Netty's server-side decoder, which insists on masked frames. */
class ClientFrameEncoderTest {
    private static final int BIG = (3 << 20) + 5;

    enum Kind {
        HEAP(b -> Unpooled.buffer(b.length).writeBytes(b)), // not wrappedBuffer: an empty one is the EMPTY_BUFFER singleton
        DIRECT(b -> Unpooled.directBuffer(b.length).writeBytes(b)),
        POOLED_DIRECT(b -> PooledByteBufAllocator.DEFAULT.directBuffer(b.length).writeBytes(b)),
        /** at an offset in a bigger buffer, as a slice of a read is */
        SLICE(b -> {
            ByteBuf whole = Unpooled.directBuffer(b.length + 24).writeZero(11).writeBytes(b).writeZero(13);
            return whole.slice(11, b.length);
        }),
        LITTLE_ENDIAN(ClientFrameEncoderTest::littleEndian),
        COMPOSITE(b -> {
            CompositeByteBuf c = Unpooled.compositeBuffer();
            int third = b.length / 3;
            c.addComponent(true, Unpooled.wrappedBuffer(b, 0, third));
            c.addComponent(true, Unpooled.directBuffer(third + 1).writeBytes(b, third, third));
            c.addComponent(true, Unpooled.wrappedBuffer(b, 2 * third, b.length - 2 * third));
            return c;
        }),
        READ_ONLY(b -> Unpooled.buffer(b.length).writeBytes(b).asReadOnly());

        final Function<byte[], ByteBuf> make;

        Kind(Function<byte[], ByteBuf> make) {
            this.make = make;
        }
    }

    static Stream<Arguments> sizesAndKinds() {
        List<Arguments> out = new ArrayList<>();
        for (int size : new int[] {0, 1, 7, 125, 126, 1024, 1025, 1027, 65535, 65536, 65537, BIG}) {
            for (Kind k : Kind.values()) {
                out.add(Arguments.of(size, k));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} bytes, {1}")
    @MethodSource("sizesAndKinds")
    void dataFrames_decodeToTheirPayload_byNettysServerDecoder(int size, Kind kind) {
        byte[] payload = random(size);
        for (boolean owned : new boolean[] {true, false}) {
            ByteBuf content = kind.make.apply(payload.clone());
            ByteBuf keep = content.retainedDuplicate(); // to look at afterwards
            WebSocketFrame frame = owned ? new Bridge.OwnedFrame(content) : new BinaryWebSocketFrame(content);
            List<ByteBuf> wire = encode(frame);
            WebSocketFrame decoded = decode(wire);
            assertInstanceOf(BinaryWebSocketFrame.class, decoded);
            assertTrue(decoded.isFinalFragment());
            assertArrayEquals(payload, ByteBufUtil.getBytes(decoded.content()), size + " bytes, " + kind + ", owned " + owned);
            decoded.release();
            boolean inPlace = owned && size > ClientFrameEncoder.IN_PLACE_MIN && kind != Kind.READ_ONLY;
            assertEquals(inPlace ? 2 : 1, wire.size(), "buffers written: header and payload only when masked in place");
            if (!inPlace) {
                assertArrayEquals(payload, ByteBufUtil.getBytes(keep), "a payload not masked in place is left as it was");
            }
            assertEquals(1, content.refCnt(), "the encoder released the frame, the decoder what it was given: only ours is left");
            keep.release();
            assertEquals(0, content.refCnt(), "nothing leaked");
        }
    }

    @Test
    void fragmentsAndRsv_areCarried() {
        byte[] a = random(5000);
        byte[] b = random(300);
        List<ByteBuf> wire = encode(new BinaryWebSocketFrame(false, 0, Unpooled.wrappedBuffer(a.clone())));
        WebSocketFrame first = decode(wire);
        assertInstanceOf(BinaryWebSocketFrame.class, first);
        assertEquals(false, first.isFinalFragment());
        assertArrayEquals(a, ByteBufUtil.getBytes(first.content()));
        first.release();
        // the channel decodes one stream: a continuation must follow the first fragment on it
        EmbeddedChannel enc = new EmbeddedChannel(new ClientFrameEncoder());
        EmbeddedChannel dec = decoder();
        enc.writeOutbound(new BinaryWebSocketFrame(false, 0, Unpooled.wrappedBuffer(a.clone())));
        enc.writeOutbound(new ContinuationWebSocketFrame(true, 0, Unpooled.wrappedBuffer(b.clone())));
        ByteBuf out;
        while ((out = enc.readOutbound()) != null) {
            dec.writeInbound(out);
        }
        WebSocketFrame f1 = dec.readInbound();
        WebSocketFrame f2 = dec.readInbound();
        assertArrayEquals(a, ByteBufUtil.getBytes(f1.content()));
        assertInstanceOf(ContinuationWebSocketFrame.class, f2);
        assertTrue(f2.isFinalFragment());
        assertArrayEquals(b, ByteBufUtil.getBytes(f2.content()));
        f1.release();
        f2.release();
        enc.finishAndReleaseAll();
        dec.finishAndReleaseAll();
    }

    @Test
    void controlFrames_areCopied_andAPongLeavesThePingsPayloadAlone() {
        byte[] ping = random(125);
        ByteBuf pingContent = Unpooled.directBuffer(125).writeBytes(ping);
        ByteBuf keep = pingContent.retainedDuplicate();
        WebSocketFrame pong = decode(encode(new PongWebSocketFrame(pingContent)));
        assertInstanceOf(PongWebSocketFrame.class, pong);
        assertArrayEquals(ping, ByteBufUtil.getBytes(pong.content()));
        assertArrayEquals(ping, ByteBufUtil.getBytes(keep));
        pong.release();
        keep.release();

        WebSocketFrame p = decode(encode(new PingWebSocketFrame(Unpooled.EMPTY_BUFFER)));
        assertInstanceOf(PingWebSocketFrame.class, p);
        assertEquals(0, p.content().readableBytes());
        p.release();

        CloseWebSocketFrame c = (CloseWebSocketFrame) decode(encode(new CloseWebSocketFrame(1011, "target failed")));
        assertEquals(1011, c.statusCode());
        assertEquals("target failed", c.reasonText());
        c.release();
    }

    @Test
    void maskInPlace_twiceIsTheIdentity_andMatchesTheRfcByteByByte() {
        byte[] data = random(37);
        int mask = 0x8badf00d;
        ByteBuf b = Unpooled.wrappedBuffer(data.clone());
        ClientFrameEncoder.maskInPlace(b, 3, 37, mask);
        byte[] key = {(byte) 0x8b, (byte) 0xad, (byte) 0xf0, (byte) 0x0d};
        for (int i = 0; i < 37; i++) {
            byte expected = i < 3 ? data[i] : (byte) (data[i] ^ key[(i - 3) % 4]);
            assertEquals(expected, b.getByte(i), "byte " + i);
        }
        ClientFrameEncoder.maskInPlace(b, 3, 37, mask);
        assertArrayEquals(data, ByteBufUtil.getBytes(b));
    }

    @ParameterizedTest(name = "{0} bytes, {1}")
    @MethodSource("sizesAndKinds")
    void maskInPlace_matchesTheRfc_inEveryKindOfBuffer_fromAnOffset(int size, Kind kind) {
        if (kind == Kind.READ_ONLY || size > 70_000) {
            return; // never masked in place; the big one is covered by the frame tests
        }
        byte[] data = random(size + 5);
        ByteBuf b = kind.make.apply(data.clone());
        int mask = ThreadLocalRandom.current().nextInt();
        ClientFrameEncoder.maskInPlace(b, b.readerIndex() + 5, b.readerIndex() + 5 + size, mask);
        for (int i = 0; i < data.length; i++) {
            byte expected = i < 5 ? data[i] : (byte) (data[i] ^ (mask >>> (24 - 8 * ((i - 5) % 4))));
            if (expected != b.getByte(b.readerIndex() + i)) {
                assertEquals(expected, b.getByte(b.readerIndex() + i), "byte " + i + " of " + size + ", " + kind);
            }
        }
        b.release();
    }

    private static List<ByteBuf> encode(WebSocketFrame frame) {
        EmbeddedChannel enc = new EmbeddedChannel(new ClientFrameEncoder());
        enc.writeOutbound(frame);
        List<ByteBuf> wire = new ArrayList<>();
        ByteBuf b;
        while ((b = enc.readOutbound()) != null) {
            wire.add(b);
        }
        enc.finishAndReleaseAll();
        return wire;
    }

    private static EmbeddedChannel decoder() {
        return new EmbeddedChannel(new WebSocket13FrameDecoder(WebSocketDecoderConfig.newBuilder()
                .expectMaskedFrames(true).allowMaskMismatch(false).maxFramePayloadLength(BIG + 1).build()));
    }

    /** Feeds the buffers to a fresh server-side decoder and returns the one frame they make. */
    private static WebSocketFrame decode(List<ByteBuf> wire) {
        EmbeddedChannel dec = decoder();
        for (ByteBuf b : wire) {
            dec.writeInbound(b);
        }
        WebSocketFrame f = dec.readInbound();
        assertNull(dec.readInbound(), "one frame");
        dec.finishAndReleaseAll();
        return f;
    }

    @SuppressWarnings("deprecation") // a swapped view is still a ByteBuf someone may hand over
    private static ByteBuf littleEndian(byte[] b) {
        return Unpooled.directBuffer(b.length).order(ByteOrder.LITTLE_ENDIAN).writeBytes(b);
    }

    private static byte[] random(int n) {
        byte[] b = new byte[n];
        ThreadLocalRandom.current().nextBytes(b);
        return b;
    }
}
