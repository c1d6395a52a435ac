package io.ports.listener.tunnel;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * RFC 6455 spoken by hand over a blocking socket, so that tests can send what no well-behaved
 * client sends (text frames, oversized frames, unmasked frames) and play a peer that stops answering.
 */
final class RawWebSocket implements AutoCloseable {
    static final int CONT = 0, TEXT = 1, BINARY = 2, CLOSE = 8, PING = 9, PONG = 10;
    private static final String GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    final Socket socket;
    private final DataInputStream in;
    private final OutputStream out;
    private final boolean client;
    /** The upgrade answer: status and headers (lower-case names). */
    int status;
    final Map<String, String> headers = new LinkedHashMap<>();

    private RawWebSocket(Socket socket, boolean client) throws IOException {
        this.socket = socket;
        this.in = new DataInputStream(socket.getInputStream());
        this.out = socket.getOutputStream();
        this.client = client;
        socket.setSoTimeout(10_000);
    }

    record Frame(int opcode, boolean fin, byte[] payload) {
        int closeCode() {
            return payload.length >= 2 ? ((payload[0] & 0xff) << 8) | (payload[1] & 0xff) : 1005;
        }
    }

    /** Connects and sends an upgrade for {@code pathAndQuery} with extra header lines (each "Name: value"). */
    static RawWebSocket connect(int port, String pathAndQuery, String... extraHeaders) throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
        RawWebSocket ws = new RawWebSocket(s, true);
        byte[] k = new byte[16];
        ThreadLocalRandom.current().nextBytes(k);
        StringBuilder req = new StringBuilder("GET " + pathAndQuery + " HTTP/1.1\r\nHost: 127.0.0.1:" + port
                + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: "
                + Base64.getEncoder().encodeToString(k) + "\r\n");
        for (String h : extraHeaders) {
            req.append(h).append("\r\n");
        }
        req.append("\r\n");
        ws.out.write(req.toString().getBytes(StandardCharsets.ISO_8859_1));
        ws.out.flush();
        String statusLine = ws.readLine();
        ws.status = Integer.parseInt(statusLine.split(" ")[1]);
        ws.readHeaders();
        return ws;
    }

    /**
     * Accepts one connection on {@code server}, reads its upgrade request and answers 101 with
     * subprotocol {@code binary}: a WebSocket server that then does whatever the test does (or nothing).
     */
    static RawWebSocket accept(ServerSocket server) throws IOException {
        Socket s = server.accept();
        RawWebSocket ws = new RawWebSocket(s, false);
        ws.readLine(); // request line
        ws.readHeaders();
        String key = ws.headers.get("sec-websocket-key");
        String accept;
        try {
            accept = Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-1")
                    .digest((key + GUID).getBytes(StandardCharsets.ISO_8859_1)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
        ws.out.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept
                + "\r\nSec-WebSocket-Protocol: binary\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
        ws.out.flush();
        ws.status = 101;
        return ws;
    }

    private String readLine() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) >= 0) {
            if (c == '\n') {
                break;
            }
            if (c != '\r') {
                b.write(c);
            }
        }
        if (c < 0 && b.size() == 0) {
            throw new EOFException("connection closed during the upgrade");
        }
        return b.toString(StandardCharsets.ISO_8859_1);
    }

    private void readHeaders() throws IOException {
        String line;
        while (!(line = readLine()).isEmpty()) {
            int colon = line.indexOf(':');
            headers.put(line.substring(0, colon).strip().toLowerCase(Locale.ROOT), line.substring(colon + 1).strip());
        }
    }

    /** The body of a refusal (Content-Length bytes). */
    String body() throws IOException {
        int n = Integer.parseInt(headers.getOrDefault("content-length", "0"));
        return new String(in.readNBytes(n), StandardCharsets.UTF_8);
    }

    void send(int opcode, boolean fin, byte[] payload) throws IOException {
        send(opcode, fin, payload, client);
    }

    void send(int opcode, boolean fin, byte[] payload, boolean masked) throws IOException {
        out.write(frame(opcode, fin, payload, masked));
        out.flush();
    }

    /** Sends one frame {@code chunk} bytes at a time with {@code pauseMillis} between: a frame crossing a slow link. */
    void sendSlowly(int opcode, byte[] payload, int chunk, long pauseMillis) throws IOException, InterruptedException {
        byte[] f = frame(opcode, true, payload, client);
        for (int off = 0; off < f.length; off += chunk) {
            out.write(f, off, Math.min(chunk, f.length - off));
            out.flush();
            Thread.sleep(pauseMillis);
        }
    }

    private static byte[] frame(int opcode, boolean fin, byte[] payload, boolean masked) {
        ByteArrayOutputStream f = new ByteArrayOutputStream(payload.length + 14);
        f.write((fin ? 0x80 : 0) | opcode);
        int m = masked ? 0x80 : 0;
        if (payload.length < 126) {
            f.write(m | payload.length);
        } else if (payload.length < 65536) {
            f.write(m | 126);
            f.write(payload.length >>> 8);
            f.write(payload.length);
        } else {
            f.write(m | 127);
            for (int i = 7; i >= 0; i--) {
                f.write((int) ((long) payload.length >>> (8 * i)));
            }
        }
        byte[] body = payload;
        if (masked) {
            byte[] key = new byte[4];
            ThreadLocalRandom.current().nextBytes(key);
            f.write(key, 0, 4);
            body = payload.clone();
            for (int i = 0; i < body.length; i++) {
                body[i] ^= key[i & 3];
            }
        }
        f.write(body, 0, body.length);
        return f.toByteArray();
    }

    void sendClose(int code) throws IOException {
        send(CLOSE, true, new byte[] {(byte) (code >>> 8), (byte) code});
    }

    /** The next frame; EOFException when the connection ends. */
    Frame read() throws IOException {
        int b0 = in.readUnsignedByte();
        int b1 = in.readUnsignedByte();
        long len = b1 & 0x7f;
        if (len == 126) {
            len = in.readUnsignedShort();
        } else if (len == 127) {
            len = in.readLong();
        }
        byte[] key = null;
        if ((b1 & 0x80) != 0) {
            key = new byte[4];
            in.readFully(key);
        }
        byte[] payload = new byte[(int) len];
        in.readFully(payload);
        if (key != null) {
            for (int i = 0; i < payload.length; i++) {
                payload[i] ^= key[i & 3];
            }
        }
        return new Frame(b0 & 0x0f, (b0 & 0x80) != 0, payload);
    }

    /** Reads frames, answering nothing, until a Close arrives; returns it (or null at end of stream). */
    Frame readUntilClose() throws IOException {
        try {
            while (true) {
                Frame f = read();
                if (f.opcode() == CLOSE) {
                    return f;
                }
            }
        } catch (EOFException e) {
            return null;
        }
    }

    /** Reads binary payload until {@code n} bytes arrived, answering Pings. */
    byte[] readData(int n) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream(n);
        while (b.size() < n) {
            Frame f = read();
            if (f.opcode() == PING) {
                send(PONG, true, f.payload());
            } else if (f.opcode() == BINARY || f.opcode() == CONT) {
                b.write(f.payload());
            } else if (f.opcode() == CLOSE) {
                throw new EOFException("Close " + f.closeCode() + " after " + b.size() + " of " + n + " bytes");
            }
        }
        return b.toByteArray();
    }

    /** Reads and drops everything until the peer closes the connection; never answers. */
    void drainSilently() {
        try {
            socket.setSoTimeout(30_000);
            InputStream s = socket.getInputStream();
            byte[] buf = new byte[8192];
            while (s.read(buf) >= 0) {
                // a dead peer reads but never answers
            }
        } catch (IOException e) {
            // reset: also an end
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
