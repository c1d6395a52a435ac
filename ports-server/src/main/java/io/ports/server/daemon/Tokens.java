package io.ports.server.daemon;

import io.ports.core.PortsException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.EnumSet;
import java.util.Set;

/**
 * The daemon's bearer tokens: {@code admin.token} (every call) and {@code read.token} (GETs only) in the
 * data directory. Generated at first start from {@link SecureRandom} (32 bytes, URL-safe base64 without
 * padding) into files created owner-only ({@code 0600}) before anything is written to them. A token file
 * that others may read is refused: the daemon does not start with a leaked secret.
 */
final class Tokens {
    static final String ADMIN_FILE = "admin.token";
    static final String READ_FILE = "read.token";

    /** Who a request is, by its Authorization header. */
    enum Kind {
        /** No Authorization header. */
        NONE,
        /** A header whose token is neither of ours, or is malformed. */
        INVALID,
        READ,
        ADMIN;

        String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    private static final Set<PosixFilePermission> OWNER_ONLY = EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);

    private final byte[] admin;
    private final byte[] read;
    private final boolean generated;

    private Tokens(String admin, String read, boolean generated) {
        this.admin = admin.getBytes(StandardCharsets.US_ASCII);
        this.read = read.getBytes(StandardCharsets.US_ASCII);
        this.generated = generated;
    }

    /** Reads the token files of {@code dataDir}, creating the missing ones. */
    static Tokens loadOrCreate(Path dataDir) {
        boolean[] created = new boolean[1];
        String admin = loadOrCreate(dataDir.resolve(ADMIN_FILE), created);
        String read = loadOrCreate(dataDir.resolve(READ_FILE), created);
        if (admin.equals(read)) {
            throw new PortsException("the admin and read-only tokens in " + dataDir + " are the same: delete " + READ_FILE + " and restart to get a new one");
        }
        return new Tokens(admin, read, created[0]);
    }

    private static String loadOrCreate(Path file, boolean[] created) {
        try {
            if (!Files.exists(file)) {
                String token = newToken();
                try {
                    Files.createFile(file, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
                    Files.writeString(file, token + "\n", StandardCharsets.US_ASCII);
                    created[0] = true;
                    return token;
                } catch (FileAlreadyExistsException raced) {
                    // another start made it in between: read it below
                }
            }
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
            if (!OWNER_ONLY.containsAll(perms)) {
                throw new PortsException("token file " + file + " is readable by others (" + PosixFilePermissions.toString(perms)
                        + "): run 'chmod 600 " + file + "', or delete it to get a new token at the next start");
            }
            String token = Files.readString(file, StandardCharsets.US_ASCII).strip();
            if (token.length() < 16 || !token.matches("[A-Za-z0-9_-]+")) {
                throw new PortsException("token file " + file + " does not hold a token (expected at least 16 characters of A-Z a-z 0-9 _ -): "
                        + "delete it to get a new one at the next start");
            }
            return token;
        } catch (IOException e) {
            throw new PortsException("cannot read or create the token file " + file + ": " + e.getMessage()
                    + ". Check that the data dir is writable by this user, or choose another with --data-dir", e);
        }
    }

    static String newToken() {
        byte[] b = new byte[32];
        new SecureRandom().nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    /** Whether this start created a token file (the tokens are printed once, then). */
    boolean generated() {
        return generated;
    }

    String admin() {
        return new String(admin, StandardCharsets.US_ASCII);
    }

    String read() {
        return new String(read, StandardCharsets.US_ASCII);
    }

    /** Classifies an {@code Authorization} header value; compares in constant time. */
    Kind classify(String authorization) {
        if (authorization == null) {
            return Kind.NONE;
        }
        String a = authorization.strip();
        if (a.length() < 7 || !a.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return Kind.INVALID;
        }
        byte[] given = a.substring(7).strip().getBytes(StandardCharsets.US_ASCII);
        if (MessageDigest.isEqual(given, admin)) {
            return Kind.ADMIN;
        }
        if (MessageDigest.isEqual(given, read)) {
            return Kind.READ;
        }
        return Kind.INVALID;
    }
}
