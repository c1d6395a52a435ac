package io.ports.nat.stun;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32;

/**
 * The STUN wire format (RFC 8489 section 5 and 14, RFC 5780 section 7): Binding requests out, Binding
 * responses in. Decoding is strict about the header (leading zero bits, magic cookie, length) and
 * about FINGERPRINT when present, and lenient about attributes it does not need. Attributes after
 * MESSAGE-INTEGRITY(-SHA256) are ignored except FINGERPRINT, as section 14.5 requires.
 */
final class StunMessage {
    static final int MAGIC_COOKIE = 0x2112A442;
    static final int HEADER = 20;
    static final int FINGERPRINT_XOR = 0x5354554E;

    static final int BINDING_REQUEST = 0x0001;
    static final int BINDING_INDICATION = 0x0011;
    static final int BINDING_SUCCESS = 0x0101;
    static final int BINDING_ERROR = 0x0111;

    static final int MAPPED_ADDRESS = 0x0001;
    static final int CHANGE_REQUEST = 0x0003;
    static final int MESSAGE_INTEGRITY = 0x0008;
    static final int ERROR_CODE = 0x0009;
    static final int UNKNOWN_ATTRIBUTES = 0x000A;
    static final int MESSAGE_INTEGRITY_SHA256 = 0x001C;
    static final int XOR_MAPPED_ADDRESS = 0x0020;
    static final int SOFTWARE = 0x8022;
    static final int ALTERNATE_SERVER = 0x8023;
    static final int FINGERPRINT = 0x8028;
    static final int RESPONSE_ORIGIN = 0x802B;
    static final int OTHER_ADDRESS = 0x802C;

    /** CHANGE-REQUEST flags (RFC 5780 section 7.2). */
    static final int CHANGE_IP = 0x04;
    static final int CHANGE_PORT = 0x02;

    /** Comprehension-required attributes this client understands in a response. */
    private static final List<Integer> KNOWN_REQUIRED = List.of(MAPPED_ADDRESS, MESSAGE_INTEGRITY, ERROR_CODE,
            UNKNOWN_ATTRIBUTES, MESSAGE_INTEGRITY_SHA256, XOR_MAPPED_ADDRESS, 0x0006 /* USERNAME */, 0x0014 /* REALM */,
            0x0015 /* NONCE */, 0x001D /* PASSWORD-ALGORITHM */, 0x001E /* USERHASH */, 0x0026 /* PADDING */,
            0x0027 /* RESPONSE-PORT */);

    final int type;
    final byte[] transactionId;
    InetSocketAddress xorMappedAddress;
    InetSocketAddress mappedAddress;
    InetSocketAddress otherAddress;
    InetSocketAddress responseOrigin;
    InetSocketAddress alternateServer;
    int errorCode;
    String errorReason;
    String software;
    boolean fingerprinted;
    final List<Integer> unknownAttributes = new ArrayList<>();
    final List<Integer> unknownRequired = new ArrayList<>();

    private StunMessage(int type, byte[] transactionId) {
        this.type = type;
        this.transactionId = transactionId;
    }

    /** The address the server saw: XOR-MAPPED-ADDRESS, else the legacy MAPPED-ADDRESS, else null. */
    InetSocketAddress mapped() {
        return xorMappedAddress != null ? xorMappedAddress : mappedAddress;
    }

    boolean isSuccess() {
        return type == BINDING_SUCCESS;
    }

    boolean isError() {
        return type == BINDING_ERROR;
    }

    /**
     * A Binding request with the given 96-bit transaction id; {@code changeFlags} non-zero adds
     * CHANGE-REQUEST, {@code fingerprint} adds FINGERPRINT.
     */
    static byte[] bindingRequest(byte[] transactionId, int changeFlags, boolean fingerprint) {
        if (transactionId.length != 12) {
            throw new IllegalArgumentException("transaction id must be 96 bits, got " + transactionId.length * 8);
        }
        int attrs = (changeFlags != 0 ? 8 : 0) + (fingerprint ? 8 : 0);
        ByteBuffer b = ByteBuffer.allocate(HEADER + attrs);
        b.putShort((short) BINDING_REQUEST).putShort((short) attrs).putInt(MAGIC_COOKIE).put(transactionId);
        if (changeFlags != 0) {
            b.putShort((short) CHANGE_REQUEST).putShort((short) 4).putInt(changeFlags);
        }
        if (fingerprint) {
            int crc = crc32(b.array(), 0, b.position()) ^ FINGERPRINT_XOR;
            b.putShort((short) FINGERPRINT).putShort((short) 4).putInt(crc);
        }
        return b.array();
    }

    /** Why {@code data} is not a STUN message; thrown by {@link #decode}. */
    static final class MalformedException extends Exception {
        private static final long serialVersionUID = 1L;

        MalformedException(String message) {
            super(message, null, false, false);
        }
    }

    /** The total length (header included) of the message that starts {@code header}, or -1 if it is not a STUN header. */
    static int frameLength(byte[] header) {
        if (header.length < 4 || (header[0] & 0xC0) != 0) {
            return -1;
        }
        return HEADER + (((header[2] & 0xFF) << 8) | (header[3] & 0xFF));
    }

    static StunMessage decode(byte[] data) throws MalformedException {
        return decode(data, data.length);
    }

    static StunMessage decode(byte[] data, int length) throws MalformedException {
        if (length < HEADER) {
            throw new MalformedException(length + " bytes, shorter than the 20-byte STUN header");
        }
        ByteBuffer b = ByteBuffer.wrap(data, 0, length);
        int type = b.getShort() & 0xFFFF;
        if ((type & 0xC000) != 0) {
            throw new MalformedException("the first two bits are not zero (type 0x" + Integer.toHexString(type) + "): not STUN");
        }
        int bodyLength = b.getShort() & 0xFFFF;
        int cookie = b.getInt();
        if (cookie != MAGIC_COOKIE) {
            throw new MalformedException("magic cookie 0x" + Integer.toHexString(cookie) + " instead of 0x2112a442");
        }
        if ((bodyLength & 3) != 0) {
            throw new MalformedException("message length " + bodyLength + " is not a multiple of 4");
        }
        if (HEADER + bodyLength != length) {
            throw new MalformedException("message length " + bodyLength + " does not match the " + (length - HEADER)
                    + " bytes after the header");
        }
        byte[] tid = new byte[12];
        b.get(tid);
        StunMessage m = new StunMessage(type, tid);
        boolean afterIntegrity = false;
        while (b.remaining() > 0) {
            int start = b.position();
            if (b.remaining() < 4) {
                throw new MalformedException("truncated attribute header at offset " + start);
            }
            int attr = b.getShort() & 0xFFFF;
            int len = b.getShort() & 0xFFFF;
            int padded = (len + 3) & ~3;
            if (padded > b.remaining()) {
                throw new MalformedException("attribute 0x" + Integer.toHexString(attr) + " at offset " + start + " claims "
                        + len + " bytes, only " + b.remaining() + " left");
            }
            byte[] value = new byte[len];
            b.get(value);
            b.position(b.position() + padded - len);
            if (attr == FINGERPRINT) {
                if (len != 4 || b.remaining() != 0) {
                    throw new MalformedException("FINGERPRINT is not the last attribute or not 4 bytes");
                }
                int expected = crc32(data, 0, start) ^ FINGERPRINT_XOR;
                int actual = ByteBuffer.wrap(value).getInt();
                if (expected != actual) {
                    throw new MalformedException("FINGERPRINT 0x" + Integer.toHexString(actual) + " does not match the message (expected 0x"
                            + Integer.toHexString(expected) + ")");
                }
                m.fingerprinted = true;
                continue;
            }
            if (afterIntegrity) {
                continue;
            }
            switch (attr) {
                case XOR_MAPPED_ADDRESS: m.xorMappedAddress = address(value, tid, true, "XOR-MAPPED-ADDRESS"); break;
                case MAPPED_ADDRESS: m.mappedAddress = address(value, tid, false, "MAPPED-ADDRESS"); break;
                case OTHER_ADDRESS: m.otherAddress = address(value, tid, false, "OTHER-ADDRESS"); break;
                case RESPONSE_ORIGIN: m.responseOrigin = address(value, tid, false, "RESPONSE-ORIGIN"); break;
                case ALTERNATE_SERVER: m.alternateServer = address(value, tid, false, "ALTERNATE-SERVER"); break;
                case SOFTWARE: m.software = new String(value, StandardCharsets.UTF_8); break;
                case ERROR_CODE:
                    if (len < 4) {
                        throw new MalformedException("ERROR-CODE of " + len + " bytes");
                    }
                    int cls = value[2] & 0x07;
                    int number = value[3] & 0xFF;
                    m.errorCode = cls * 100 + number;
                    m.errorReason = new String(value, 4, len - 4, StandardCharsets.UTF_8).strip();
                    break;
                case UNKNOWN_ATTRIBUTES:
                    for (int i = 0; i + 1 < len; i += 2) {
                        m.unknownAttributes.add(((value[i] & 0xFF) << 8) | (value[i + 1] & 0xFF));
                    }
                    break;
                case MESSAGE_INTEGRITY:
                case MESSAGE_INTEGRITY_SHA256:
                    afterIntegrity = true;
                    break;
                default:
                    if (attr < 0x8000 && !KNOWN_REQUIRED.contains(attr)) {
                        m.unknownRequired.add(attr);
                    }
            }
        }
        return m;
    }

    private static InetSocketAddress address(byte[] v, byte[] tid, boolean xor, String name) throws MalformedException {
        if (v.length < 4) {
            throw new MalformedException(name + " of " + v.length + " bytes");
        }
        int family = v[1] & 0xFF;
        int port = ((v[2] & 0xFF) << 8) | (v[3] & 0xFF);
        byte[] addr;
        if (family == 0x01 && v.length == 8) {
            addr = Arrays.copyOfRange(v, 4, 8);
        } else if (family == 0x02 && v.length == 20) {
            addr = Arrays.copyOfRange(v, 4, 20);
        } else {
            throw new MalformedException(name + " with family " + family + " and " + v.length + " bytes");
        }
        if (xor) {
            port ^= MAGIC_COOKIE >>> 16;
            byte[] key = ByteBuffer.allocate(16).putInt(MAGIC_COOKIE).put(tid).array();
            for (int i = 0; i < addr.length; i++) {
                addr[i] ^= key[i];
            }
        }
        try {
            return new InetSocketAddress(InetAddress.getByAddress(addr), port);
        } catch (UnknownHostException e) {
            throw new MalformedException(name + ": " + e.getMessage());
        }
    }

    static int crc32(byte[] data, int offset, int length) {
        CRC32 crc = new CRC32();
        crc.update(data, offset, length);
        return (int) crc.getValue();
    }

    /** A short description for messages: "success from ...", "error 420 (Unknown Attribute)". */
    String describe() {
        if (isError()) {
            return "error " + errorCode + (errorReason == null || errorReason.isEmpty() ? "" : " (" + errorReason + ")");
        }
        return isSuccess() ? "Binding success" : "message type 0x" + Integer.toHexString(type);
    }

    /** Encodes a response, for in-process fake servers in tests. */
    static byte[] bindingSuccess(byte[] transactionId, InetSocketAddress mapped, boolean fingerprint) {
        byte[] a = mapped.getAddress().getAddress();
        int attrLen = 4 + a.length;
        int body = 4 + attrLen + (fingerprint ? 8 : 0);
        ByteBuffer b = ByteBuffer.allocate(HEADER + body);
        b.putShort((short) BINDING_SUCCESS).putShort((short) body).putInt(MAGIC_COOKIE).put(transactionId);
        b.putShort((short) XOR_MAPPED_ADDRESS).putShort((short) attrLen).put((byte) 0).put((byte) (a.length == 4 ? 1 : 2))
                .putShort((short) (mapped.getPort() ^ (MAGIC_COOKIE >>> 16)));
        byte[] key = ByteBuffer.allocate(16).putInt(MAGIC_COOKIE).put(transactionId).array();
        for (int i = 0; i < a.length; i++) {
            b.put((byte) (a[i] ^ key[i]));
        }
        if (fingerprint) {
            int crc = crc32(b.array(), 0, b.position()) ^ FINGERPRINT_XOR;
            b.putShort((short) FINGERPRINT).putShort((short) 4).putInt(crc);
        }
        return b.array();
    }

    /** Encodes an error response (for fakes in tests). */
    static byte[] bindingError(byte[] transactionId, int code, String reason) {
        byte[] r = reason.getBytes(StandardCharsets.UTF_8);
        int attrLen = 4 + r.length;
        int padded = (attrLen + 3) & ~3;
        ByteBuffer b = ByteBuffer.allocate(HEADER + 4 + padded);
        b.putShort((short) BINDING_ERROR).putShort((short) (4 + padded)).putInt(MAGIC_COOKIE).put(transactionId);
        b.putShort((short) ERROR_CODE).putShort((short) attrLen).putShort((short) 0).put((byte) (code / 100)).put((byte) (code % 100)).put(r);
        return b.array();
    }
}
