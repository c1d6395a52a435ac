package io.ports.listener.tunnel;

import static io.ports.listener.tunnel.WebSocketOpcodes.OPCODE_BINARY;
import static io.ports.listener.tunnel.WebSocketOpcodes.OPCODE_CLOSE;
import static io.ports.listener.tunnel.WebSocketOpcodes.OPCODE_CONT;
import static io.ports.listener.tunnel.WebSocketOpcodes.OPCODE_PING;
import static io.ports.listener.tunnel.WebSocketOpcodes.OPCODE_PONG;
import static io.ports.listener.tunnel.WebSocketOpcodes.OPCODE_TEXT;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageEncoder;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrameEncoder;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The tunnel client's WebSocket frame encoder (RFC 6455 section 5.2, client to server: every frame
 * masked), in place of Netty's {@code WebSocket08FrameEncoder}, which copies every payload into a
 * new buffer to mask it.
 *
 * <p>A {@link Bridge.OwnedFrame} above {@link #IN_PLACE_MIN} bytes is masked where it lies: its
 * payload is a buffer the bridge has just read from the local connection and hands over whole (no
 * one else reads it afterwards), so XORing it in place is safe, and the frame goes out as two
 * buffers, the 6 to 14 header bytes and the payload, in one gathering write. Every other frame (a
 * control frame, whose payload may be a Ping's echoed in a Pong; a small one, where a copy costs less
 * than a second buffer; one whose payload is read-only) is copied and masked into one new buffer,
 * as Netty does. The payload's reader and writer indexes are left as they are: what goes out is
 * exactly its readable bytes.
 */
final class ClientFrameEncoder extends MessageToMessageEncoder<WebSocketFrame> implements WebSocketFrameEncoder {
    /** Payloads up to this size are copied into the header's buffer instead (Netty's gathering threshold). */
    static final int IN_PLACE_MIN = 1024;
    /** From this length on, masking goes through one NIO view of the bytes. */
    private static final int NIO_MIN = 64;

    ClientFrameEncoder() {
        super(WebSocketFrame.class);
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, WebSocketFrame frame, List<Object> out) {
        ByteBuf data = frame.content();
        int length = data.readableBytes();
        int opcode = opcode(frame);
        if (opcode >= OPCODE_CLOSE && length > 125) {
            throw new TooLongFrameException("a control frame's payload is at most 125 bytes, was " + length);
        }
        boolean inPlace = frame instanceof Bridge.OwnedFrame && length > IN_PLACE_MIN && !data.isReadOnly();
        int headerLength = 2 + (length <= 125 ? 0 : length <= 0xFFFF ? 2 : 8) + 4;
        ByteBuf header = ctx.alloc().buffer(inPlace ? headerLength : headerLength + length);
        boolean done = false;
        try {
            header.writeByte((frame.isFinalFragment() ? 0x80 : 0) | (frame.rsv() & 0x7) << 4 | opcode);
            if (length <= 125) {
                header.writeByte(0x80 | length);
            } else if (length <= 0xFFFF) {
                header.writeByte(0x80 | 126);
                header.writeShort(length);
            } else {
                header.writeByte(0x80 | 127);
                header.writeLong(length);
            }
            int mask = ThreadLocalRandom.current().nextInt();
            header.writeInt(mask);
            if (inPlace) {
                maskInPlace(data, data.readerIndex(), data.writerIndex(), mask);
                out.add(header);
                out.add(data.retain());
            } else {
                copyMasked(data, header, mask);
                out.add(header);
            }
            done = true;
        } finally {
            if (!done) {
                header.release();
            }
        }
    }

    private static int opcode(WebSocketFrame frame) {
        if (frame instanceof BinaryWebSocketFrame) {
            return OPCODE_BINARY;
        } else if (frame instanceof ContinuationWebSocketFrame) {
            return OPCODE_CONT;
        } else if (frame instanceof PingWebSocketFrame) {
            return OPCODE_PING;
        } else if (frame instanceof PongWebSocketFrame) {
            return OPCODE_PONG;
        } else if (frame instanceof CloseWebSocketFrame) {
            return OPCODE_CLOSE;
        } else if (frame instanceof TextWebSocketFrame) {
            return OPCODE_TEXT;
        }
        throw new UnsupportedOperationException("cannot encode a frame of type " + frame.getClass().getName());
    }

    /**
     * XORs bytes {@code from} to {@code to} of {@code buf} with the mask repeated, the first byte with
     * the mask's most significant one (RFC 6455 5.3: byte i with mask byte i mod 4, the key in network
     * order).
     */
    static void maskInPlace(ByteBuf buf, int from, int to, int mask) {
        if (to - from >= NIO_MIN && buf.nioBufferCount() == 1) {
            // one NIO view of the memory (a single-component buffer's view shares it): one bounds check and no
            // ByteBuf indirection per eight bytes (slices, leak-aware wrappers, which record every access when paranoid)
            maskInPlace(buf.nioBuffer(from, to - from), mask);
            return;
        }
        boolean le = isLittleEndian(buf); // getLong reads in the buffer's order: the mask must be in it too
        long longMask = (mask & 0xFFFFFFFFL) | ((long) mask << 32);
        long m8 = le ? Long.reverseBytes(longMask) : longMask;
        int m4 = le ? Integer.reverseBytes(mask) : mask;
        int i = from;
        for (int end = to - 7; i < end; i += 8) {
            buf.setLong(i, buf.getLong(i) ^ m8);
        }
        if (i < to - 3) {
            buf.setInt(i, buf.getInt(i) ^ m4);
            i += 4;
        }
        for (int k = 0; i < to; i++, k++) {
            buf.setByte(i, buf.getByte(i) ^ (mask >>> (24 - 8 * k)));
        }
    }

    /** XORs {@code b}'s bytes from its position to its limit with the mask repeated (network order). */
    private static void maskInPlace(ByteBuffer b, int mask) {
        b.order(ByteOrder.BIG_ENDIAN); // this view's order, not the memory's
        long m8 = (mask & 0xFFFFFFFFL) | ((long) mask << 32);
        int i = b.position();
        int to = b.limit();
        for (int end = to - 7; i < end; i += 8) {
            b.putLong(i, b.getLong(i) ^ m8);
        }
        if (i < to - 3) {
            b.putInt(i, b.getInt(i) ^ mask);
            i += 4;
        }
        for (int k = 0; i < to; i++, k++) {
            b.put(i, (byte) (b.get(i) ^ (mask >>> (24 - 8 * k))));
        }
    }

    /** Writes {@code data}'s readable bytes masked to {@code dst}; {@code data} is not changed. */
    private static void copyMasked(ByteBuf data, ByteBuf dst, int mask) {
        int start = dst.writerIndex();
        dst.writeBytes(data, data.readerIndex(), data.readableBytes()); // the bytes as they are, whatever data's order
        maskInPlace(dst, start, dst.writerIndex(), mask);
    }

    @SuppressWarnings("deprecation") // ByteBuf.order(): a buffer may still be a swapped (little-endian) view
    private static boolean isLittleEndian(ByteBuf buf) {
        return buf.order() == ByteOrder.LITTLE_ENDIAN;
    }
}
