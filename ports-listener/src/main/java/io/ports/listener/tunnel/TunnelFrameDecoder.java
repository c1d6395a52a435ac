package io.ports.listener.tunnel;

import static io.ports.listener.tunnel.WebSocketOpcodes.OPCODE_BINARY;
import static io.ports.listener.tunnel.WebSocketOpcodes.OPCODE_CLOSE;
import static io.ports.listener.tunnel.WebSocketOpcodes.OPCODE_CONT;
import static io.ports.listener.tunnel.WebSocketOpcodes.OPCODE_PING;
import static io.ports.listener.tunnel.WebSocketOpcodes.OPCODE_PONG;
import static io.ports.listener.tunnel.WebSocketOpcodes.OPCODE_TEXT;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrameDecoder;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;

/**
 * The tunnel's WebSocket frame decoder (RFC 6455 section 5), on both ends in place of Netty's
 * {@code WebSocket08FrameDecoder}, which waits for a whole frame in its cumulation buffer (copying
 * the reads when a frame spans several) and then copies the payload out of it.
 *
 * <p>This one parses frame headers as they arrive and passes each data frame's payload on in
 * pieces, as retained slices of the buffers read, unmasked in place (the tunnel owns what its
 * WebSocket channel reads; a read-only buffer is copied). A message is passed on as a sequence of
 * pieces that is itself a valid fragmentation of it: the first piece a {@link BinaryWebSocketFrame}
 * (or {@link TextWebSocketFrame}), the others {@link ContinuationWebSocketFrame}s, the last one final;
 * a frame of 0 bytes is one empty piece. Control frames are passed on whole: their payload (at most
 * 125 bytes) is a slice of the read when it is all there, else gathered in a small buffer.
 *
 * <p>The rules of Netty's decoder as the tunnel configured it, with the same close codes: a
 * frame over the max frame payload, or a message (a frame and its continuations) over the max
 * message size, closes with 1009 as soon as its header says so; everything else closes with 1002:
 * RSV bits (no extension is ever negotiated), a frame masked otherwise than expected (clients must
 * mask, servers must not), reserved opcodes, a fragmented control frame or one over 125 bytes, a
 * continuation outside a message or a new message inside one, a length not in its minimal encoding
 * or negative, a Close with a one-byte payload or an invalid status code; a Close reason that is not
 * UTF-8 closes with 1007. On a violation this end sends its Close with the code and the reason,
 * closes the channel once it is written, discards everything after and fires a
 * {@link CorruptedWebSocketFrameException} (what the {@link Bridge} expects from Netty's decoder).
 * After a Close from the peer everything it sends is discarded, as Netty does.
 */
final class TunnelFrameDecoder extends ChannelInboundHandlerAdapter implements WebSocketFrameDecoder {

    private static final int HEADER = 0;
    private static final int DATA = 1;
    private static final int CONTROL = 2;
    /** after a protocol violation or the peer's Close: everything is discarded */
    private static final int DISCARD = 3;

    private final boolean expectMasked;
    private final int maxFramePayload;
    private final long maxMessageSize;

    private int state = HEADER;
    private final byte[] header = new byte[14];
    private int headerHave;

    // the frame being read
    private boolean fin;
    private int opcode;
    private boolean masked;
    private int mask;
    private long remaining;
    /** bytes of the frame's payload already passed on: the mask's phase for the next piece */
    private long offset;
    private ByteBuf control;

    // the message being read
    private boolean inMessage;
    /** whether the message's first piece has been passed on (the next one is a continuation) */
    private boolean messageStarted;
    private int messageOpcode;
    private long messageBytes;

    /**
     * @param expectMasked    true on a server (client frames must be masked), false on a client (server frames must not be)
     * @param maxFramePayload the largest frame payload accepted
     * @param maxMessageSize  the largest message accepted
     */
    TunnelFrameDecoder(boolean expectMasked, int maxFramePayload, long maxMessageSize) {
        if (maxFramePayload < 125 || maxMessageSize < maxFramePayload) {
            throw new IllegalArgumentException("limits out of range: max frame payload " + maxFramePayload
                    + " (at least 125), max message size " + maxMessageSize + " (at least the max frame payload)");
        }
        this.expectMasked = expectMasked;
        this.maxFramePayload = maxFramePayload;
        this.maxMessageSize = maxMessageSize;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf)) {
            ctx.fireChannelRead(msg);
            return;
        }
        ByteBuf in = (ByteBuf) msg;
        try {
            while (in.isReadable() && !ctx.isRemoved()) {
                switch (state) {
                    case HEADER:
                        if (!header(ctx, in)) {
                            return; // incomplete (or a violation, and then everything is discarded)
                        }
                        break;
                    case DATA:
                        data(ctx, in);
                        break;
                    case CONTROL:
                        control(ctx, in);
                        break;
                    default:
                        in.skipBytes(in.readableBytes());
                        return;
                }
            }
        } finally {
            in.release();
        }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        releaseControl();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        releaseControl();
        ctx.fireChannelInactive();
    }

    private void releaseControl() {
        if (control != null) {
            control.release();
            control = null;
        }
    }

    // ---------------------------------------------------------------------------------- header

    /** Gathers and checks a frame header; true when it is complete and the payload state is set. */
    private boolean header(ChannelHandlerContext ctx, ByteBuf in) {
        if (headerHave < 2) {
            int n = Math.min(2 - headerHave, in.readableBytes());
            in.readBytes(header, headerHave, n);
            headerHave += n;
            if (headerHave < 2) {
                return false;
            }
            if (!checkFirstTwo(ctx, in)) {
                return false;
            }
        }
        int len1 = header[1] & 0x7F;
        int total = 2 + (len1 == 126 ? 2 : len1 == 127 ? 8 : 0) + (masked ? 4 : 0);
        if (headerHave < total) {
            int n = Math.min(total - headerHave, in.readableBytes());
            in.readBytes(header, headerHave, n);
            headerHave += n;
            if (headerHave < total) {
                return false;
            }
        }
        long length;
        int at = 2;
        if (len1 == 126) {
            length = (header[2] & 0xFF) << 8 | (header[3] & 0xFF);
            at = 4;
            if (length < 126) {
                return violation(ctx, in, WebSocketCloseStatus.PROTOCOL_ERROR, "invalid frame length " + length + " (not in its minimal encoding)");
            }
        } else if (len1 == 127) {
            length = 0;
            for (int i = 2; i < 10; i++) {
                length = length << 8 | (header[i] & 0xFF);
            }
            at = 10;
            if (length < 0) {
                return violation(ctx, in, WebSocketCloseStatus.PROTOCOL_ERROR, "invalid frame length (negative)");
            }
            if (length < 65536) {
                return violation(ctx, in, WebSocketCloseStatus.PROTOCOL_ERROR, "invalid frame length " + length + " (not in its minimal encoding)");
            }
        } else {
            length = len1;
        }
        if (length > maxFramePayload) {
            return violation(ctx, in, WebSocketCloseStatus.MESSAGE_TOO_BIG, "frame of " + length + " bytes: the limit is " + maxFramePayload);
        }
        if (masked) {
            mask = (header[at] & 0xFF) << 24 | (header[at + 1] & 0xFF) << 16 | (header[at + 2] & 0xFF) << 8 | (header[at + 3] & 0xFF);
        }
        headerHave = 0;
        remaining = length;
        offset = 0;
        if (opcode >= OPCODE_CLOSE) {
            state = CONTROL;
            if (length == 0) {
                controlFrame(ctx, in, Unpooled.EMPTY_BUFFER);
            }
            return true;
        }
        if (opcode != OPCODE_CONT) {
            inMessage = true;
            messageStarted = false;
            messageOpcode = opcode;
            messageBytes = 0;
        }
        messageBytes += length;
        if (messageBytes > maxMessageSize) {
            return violation(ctx, in, WebSocketCloseStatus.MESSAGE_TOO_BIG, "message longer than " + maxMessageSize + " bytes");
        }
        state = DATA;
        if (length == 0) {
            piece(ctx, Unpooled.EMPTY_BUFFER); // an empty frame is still a message, or a message's end
            state = HEADER;
        }
        return true;
    }

    /** The checks Netty's decoder makes once it has the first two bytes, in its order. */
    private boolean checkFirstTwo(ChannelHandlerContext ctx, ByteBuf in) {
        int b0 = header[0] & 0xFF;
        int b1 = header[1] & 0xFF;
        fin = (b0 & 0x80) != 0;
        int rsv = (b0 & 0x70) >> 4;
        opcode = b0 & 0x0F;
        masked = (b1 & 0x80) != 0;
        int len1 = b1 & 0x7F;
        if (rsv != 0) {
            return violation(ctx, in, WebSocketCloseStatus.PROTOCOL_ERROR, "RSV bits " + rsv + " set and no extension negotiated");
        }
        if (masked != expectMasked) {
            return violation(ctx, in, WebSocketCloseStatus.PROTOCOL_ERROR,
                    expectMasked ? "an unmasked frame from a client" : "a masked frame from a server");
        }
        if (opcode >= OPCODE_CLOSE) {
            if (!fin) {
                return violation(ctx, in, WebSocketCloseStatus.PROTOCOL_ERROR, "a fragmented control frame");
            }
            if (len1 > 125) {
                return violation(ctx, in, WebSocketCloseStatus.PROTOCOL_ERROR, "a control frame over 125 bytes");
            }
            if (opcode != OPCODE_CLOSE && opcode != OPCODE_PING && opcode != OPCODE_PONG) {
                return violation(ctx, in, WebSocketCloseStatus.PROTOCOL_ERROR, "a control frame with the reserved opcode " + opcode);
            }
            if (opcode == OPCODE_CLOSE && len1 == 1) {
                return violation(ctx, in, WebSocketCloseStatus.PROTOCOL_ERROR, "a Close frame with a payload of one byte");
            }
        } else {
            if (opcode != OPCODE_CONT && opcode != OPCODE_TEXT && opcode != OPCODE_BINARY) {
                return violation(ctx, in, WebSocketCloseStatus.PROTOCOL_ERROR, "a data frame with the reserved opcode " + opcode);
            }
            if (!inMessage && opcode == OPCODE_CONT) {
                return violation(ctx, in, WebSocketCloseStatus.PROTOCOL_ERROR, "a continuation frame outside a fragmented message");
            }
            if (inMessage && opcode != OPCODE_CONT) {
                return violation(ctx, in, WebSocketCloseStatus.PROTOCOL_ERROR, "a new data frame inside a fragmented message");
            }
        }
        return true;
    }

    // --------------------------------------------------------------------------------- payload

    /** Passes on what this read holds of a data frame's payload, unmasked, as a slice of the read. */
    private void data(ChannelHandlerContext ctx, ByteBuf in) {
        int n = (int) Math.min(remaining, in.readableBytes());
        ByteBuf piece;
        if (in.isReadOnly()) {
            piece = ctx.alloc().buffer(n);
            in.readBytes(piece, n);
        } else {
            piece = in.readRetainedSlice(n);
        }
        unmask(piece, offset);
        remaining -= n;
        offset += n;
        if (remaining == 0) {
            state = HEADER;
        }
        piece(ctx, piece);
    }

    /** Passes one piece of the current message on. */
    private void piece(ChannelHandlerContext ctx, ByteBuf piece) {
        boolean last = remaining == 0 && fin;
        WebSocketFrame f;
        if (messageStarted) {
            f = new ContinuationWebSocketFrame(last, 0, piece);
        } else if (messageOpcode == OPCODE_TEXT) {
            f = new TextWebSocketFrame(last, 0, piece);
        } else {
            f = new BinaryWebSocketFrame(last, 0, piece);
        }
        messageStarted = !last;
        if (last) {
            inMessage = false;
        }
        ctx.fireChannelRead(f);
    }

    private void control(ChannelHandlerContext ctx, ByteBuf in) {
        int length = (int) remaining;
        if (control == null && in.readableBytes() >= length) {
            ByteBuf payload = in.isReadOnly() ? ctx.alloc().buffer(length).writeBytes(in, length) : in.readRetainedSlice(length);
            remaining = 0;
            unmask(payload, 0);
            controlFrame(ctx, in, payload);
            return;
        }
        if (control == null) {
            control = ctx.alloc().buffer(length);
        }
        int n = Math.min(control.writableBytes(), in.readableBytes());
        in.readBytes(control, n);
        if (control.isWritable()) {
            return;
        }
        ByteBuf payload = control;
        control = null;
        remaining = 0;
        unmask(payload, 0);
        controlFrame(ctx, in, payload);
    }

    /** A whole control frame: passed on (a Close after its body is checked). Takes the payload over. */
    private void controlFrame(ChannelHandlerContext ctx, ByteBuf in, ByteBuf payload) {
        state = HEADER;
        if (opcode == OPCODE_PING) {
            ctx.fireChannelRead(new PingWebSocketFrame(payload));
        } else if (opcode == OPCODE_PONG) {
            ctx.fireChannelRead(new PongWebSocketFrame(payload));
        } else {
            BadClose bad = closeBodyProblem(payload);
            if (bad != null) {
                payload.release();
                violation(ctx, in, bad.status(), bad.reason());
                return;
            }
            state = DISCARD; // nothing the peer sends after its Close counts
            in.skipBytes(in.readableBytes());
            ctx.fireChannelRead(new CloseWebSocketFrame(true, 0, payload));
        }
    }

    /** What is wrong with a Close frame's payload, and the code to close with for it. */
    private record BadClose(WebSocketCloseStatus status, String reason) {
    }

    /** Why a Close frame's payload is not valid (RFC 6455 5.5.1, 7.4), or null when it is. */
    private static BadClose closeBodyProblem(ByteBuf payload) {
        if (!payload.isReadable()) {
            return null; // no status: 1005 to the bridge
        }
        int code = payload.getUnsignedShort(payload.readerIndex());
        if (!WebSocketCloseStatus.isValidStatusCode(code)) {
            return new BadClose(WebSocketCloseStatus.PROTOCOL_ERROR, "a Close with the invalid status code " + code);
        }
        if (payload.readableBytes() > 2) {
            ByteBuffer reason = payload.nioBuffer(payload.readerIndex() + 2, payload.readableBytes() - 2);
            try {
                StandardCharsets.UTF_8.newDecoder().decode(reason); // reports malformed input
            } catch (CharacterCodingException e) {
                return new BadClose(WebSocketCloseStatus.INVALID_PAYLOAD_DATA, "a Close reason that is not UTF-8");
            }
        }
        return null;
    }

    /** Unmasks {@code piece} in place: the frame's payload from byte {@code start} on. */
    private void unmask(ByteBuf piece, long start) {
        if (!masked || mask == 0 || !piece.isReadable()) {
            return;
        }
        int phased = Integer.rotateLeft(mask, 8 * (int) (start & 3)); // the mask byte of the piece's first byte first
        ClientFrameEncoder.maskInPlace(piece, piece.readerIndex(), piece.writerIndex(), phased);
    }

    // ----------------------------------------------------------------------------- violations

    /** Closes with {@code status}, discards what follows and fires the exception; always false. */
    private boolean violation(ChannelHandlerContext ctx, ByteBuf in, WebSocketCloseStatus status, String reason) {
        state = DISCARD;
        headerHave = 0;
        releaseControl();
        in.skipBytes(in.readableBytes());
        CorruptedWebSocketFrameException e = new CorruptedWebSocketFrameException(status, reason);
        if (ctx.channel().isActive()) {
            // through the whole pipeline: on a client the encoder comes after the decoder
            ctx.channel().writeAndFlush(new CloseWebSocketFrame(status.code(), reason)).addListener(ChannelFutureListener.CLOSE);
        }
        ctx.fireExceptionCaught(e);
        return false;
    }
}
