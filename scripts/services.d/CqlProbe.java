// Readiness probe and minimal CQL runner for the Cassandra started by scripts/services.
// Speaks the CQL native protocol v4 over a plain socket (STARTUP, optional
// PasswordAuthenticator login, QUERY), so it needs no driver jar and starts fast.
//
//   CqlProbe wait  CONTACT_POINTS TIMEOUT_S [PID]   retry "SELECT release_version FROM system.local"
//   CqlProbe query CONTACT_POINTS "CQL STATEMENT"   run one statement, print the rows (tab-separated)
//
// CONTACT_POINTS: host[:port][,host[:port]...]; the default port is $CASSANDRA_PORT or 9042.
// Credentials: $CASSANDRA_USERNAME / $CASSANDRA_PASSWORD, used when the server asks for them.
// Exit codes: 0 ok, 1 gave up / query failed, 3 the watched process died.

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

public class CqlProbe {
    static final int VERSION = 0x04;
    static final int OP_ERROR = 0x00, OP_STARTUP = 0x01, OP_READY = 0x02, OP_AUTHENTICATE = 0x03,
            OP_QUERY = 0x07, OP_RESULT = 0x08, OP_AUTH_CHALLENGE = 0x0E, OP_AUTH_RESPONSE = 0x0F,
            OP_AUTH_SUCCESS = 0x10;
    static final short CONSISTENCY_ONE = 0x0001;

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: CqlProbe wait CONTACT_POINTS [TIMEOUT_S [PID]] | query CONTACT_POINTS CQL");
            System.exit(2);
        }
        List<InetSocketAddress> points = parsePoints(args[1]);
        switch (args[0]) {
            case "wait" -> System.exit(waitReady(points,
                    args.length > 2 ? Long.parseLong(args[2]) : 180,
                    args.length > 3 ? Long.parseLong(args[3]) : -1));
            case "query" -> {
                if (args.length < 3) {
                    System.err.println("CqlProbe query: missing CQL statement");
                    System.exit(2);
                }
                try {
                    Result r = runOnAny(points, args[2], 30_000);
                    r.print();
                } catch (Exception e) {
                    System.err.println("cql: " + e.getMessage());
                    System.exit(1);
                }
            }
            default -> {
                System.err.println("CqlProbe: unknown mode " + args[0]);
                System.exit(2);
            }
        }
    }

    static List<InetSocketAddress> parsePoints(String spec) {
        String envPort = System.getenv("CASSANDRA_PORT");
        int defPort = envPort == null || envPort.isBlank() ? 9042 : Integer.parseInt(envPort.trim());
        List<InetSocketAddress> out = new ArrayList<>();
        for (String p : spec.split(",")) {
            p = p.trim();
            if (p.isEmpty()) continue;
            int colon = p.lastIndexOf(':');
            if (colon > 0 && p.indexOf(':') == colon) {
                out.add(InetSocketAddress.createUnresolved(p.substring(0, colon), Integer.parseInt(p.substring(colon + 1))));
            } else {
                out.add(InetSocketAddress.createUnresolved(p, defPort));
            }
        }
        return out;
    }

    static int waitReady(List<InetSocketAddress> points, long timeoutS, long pid) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutS);
        String last = "no answer yet";
        while (System.nanoTime() < deadline) {
            if (pid > 0 && !ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
                System.err.println("process " + pid + " exited");
                return 3;
            }
            try {
                Result r = runOnAny(points, "SELECT release_version FROM system.local", 5_000);
                if (!r.rows.isEmpty()) {
                    System.out.println("release_version " + r.rows.get(0).get(0));
                    return 0;
                }
                last = "system.local returned no row";
            } catch (Exception e) {
                last = e.getMessage();
            }
            Thread.sleep(250);
        }
        System.err.println("no CQL answer from " + points.stream().map(CqlProbe::name).toList() + " within " + timeoutS + " s (" + last + ")");
        return 1;
    }

    static Result runOnAny(List<InetSocketAddress> points, String cql, int timeoutMs) throws IOException {
        IOException last = null;
        for (InetSocketAddress p : points) {
            try {
                return run(p, cql, timeoutMs);
            } catch (IOException e) {
                // keep the address in the message: "Connection refused" alone says too little
                last = e.getMessage() != null && e.getMessage().contains(name(p)) ? e : new IOException(name(p) + ": " + e.getMessage(), e);
            }
        }
        throw last != null ? last : new IOException("no contact points");
    }

    static Result run(InetSocketAddress point, String cql, int timeoutMs) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getByName(point.getHostString()), point.getPort()), 2000);
            s.setSoTimeout(timeoutMs);
            s.setTcpNoDelay(true);
            OutputStream out = s.getOutputStream();
            DataInputStream in = new DataInputStream(s.getInputStream());

            Body startup = new Body();
            startup.shortv(1).string("CQL_VERSION").string("3.0.0");
            send(out, OP_STARTUP, startup);
            Frame f = recv(in);
            if (f.opcode == OP_AUTHENTICATE) {
                String user = System.getenv().getOrDefault("CASSANDRA_USERNAME", "");
                String pass = System.getenv().getOrDefault("CASSANDRA_PASSWORD", "");
                if (user.isEmpty()) {
                    throw new IOException(name(point) + " requires authentication; set CASSANDRA_USERNAME/CASSANDRA_PASSWORD");
                }
                // SASL PLAIN token: \0user\0password
                byte[] u = user.getBytes(StandardCharsets.UTF_8), pw = pass.getBytes(StandardCharsets.UTF_8);
                ByteBuffer tok = ByteBuffer.allocate(2 + u.length + pw.length);
                tok.put((byte) 0).put(u).put((byte) 0).put(pw);
                send(out, OP_AUTH_RESPONSE, new Body().bytes(tok.array()));
                f = recv(in);
                if (f.opcode == OP_AUTH_CHALLENGE) throw new IOException("unsupported auth challenge from " + name(point));
                if (f.opcode != OP_AUTH_SUCCESS) throw error(point, f);
            } else if (f.opcode != OP_READY) {
                throw error(point, f);
            }

            Body q = new Body();
            q.longString(cql).shortv(CONSISTENCY_ONE).bytev(0);
            send(out, OP_QUERY, q);
            f = recv(in);
            if (f.opcode != OP_RESULT) throw error(point, f);
            return Result.parse(f.body);
        }
    }

    static String name(InetSocketAddress a) {
        return a.getHostString() + ":" + a.getPort();
    }

    static IOException error(InetSocketAddress point, Frame f) {
        if (f.opcode == OP_ERROR) {
            int code = f.body.getInt();
            return new IOException(name(point) + ": error 0x" + Integer.toHexString(code) + ": " + readString(f.body));
        }
        return new IOException(name(point) + ": unexpected opcode 0x" + Integer.toHexString(f.opcode));
    }

    record Frame(int opcode, ByteBuffer body) {}

    static void send(OutputStream out, int opcode, Body body) throws IOException {
        byte[] b = body.toBytes();
        ByteBuffer h = ByteBuffer.allocate(9 + b.length);
        h.put((byte) VERSION).put((byte) 0).putShort((short) 0).put((byte) opcode).putInt(b.length).put(b);
        out.write(h.array());
        out.flush();
    }

    static Frame recv(DataInputStream in) throws IOException {
        byte[] header = new byte[9];
        try {
            in.readFully(header);
        } catch (EOFException e) {
            throw new IOException("connection closed by server");
        }
        ByteBuffer h = ByteBuffer.wrap(header);
        int version = h.get() & 0x7f;
        int flags = h.get();
        h.getShort(); // stream id
        int opcode = h.get() & 0xff;
        int len = h.getInt();
        byte[] body = new byte[len];
        in.readFully(body);
        if (version != VERSION) throw new IOException("server answered protocol v" + version);
        ByteBuffer bb = ByteBuffer.wrap(body);
        if ((flags & 0x08) != 0) { // warning flag: skip [string list]
            int n = bb.getShort() & 0xffff;
            for (int i = 0; i < n; i++) readString(bb);
        }
        return new Frame(opcode, bb);
    }

    static String readString(ByteBuffer b) {
        int n = b.getShort() & 0xffff;
        byte[] s = new byte[n];
        b.get(s);
        return new String(s, StandardCharsets.UTF_8);
    }

    static byte[] readBytes(ByteBuffer b) {
        int n = b.getInt();
        if (n < 0) return null;
        byte[] s = new byte[n];
        b.get(s);
        return s;
    }

    /** Growable request body in the protocol's notations. */
    static final class Body {
        private ByteBuffer buf = ByteBuffer.allocate(256);

        private void room(int n) {
            if (buf.remaining() < n) {
                ByteBuffer nb = ByteBuffer.allocate(Math.max(buf.capacity() * 2, buf.position() + n));
                buf.flip();
                nb.put(buf);
                buf = nb;
            }
        }

        Body bytev(int v) { room(1); buf.put((byte) v); return this; }
        Body shortv(int v) { room(2); buf.putShort((short) v); return this; }

        Body string(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            room(2 + b.length);
            buf.putShort((short) b.length).put(b);
            return this;
        }

        Body longString(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            room(4 + b.length);
            buf.putInt(b.length).put(b);
            return this;
        }

        Body bytes(byte[] b) {
            room(4 + b.length);
            buf.putInt(b.length).put(b);
            return this;
        }

        byte[] toBytes() {
            byte[] out = new byte[buf.position()];
            buf.duplicate().flip().get(out);
            return out;
        }
    }

    /** Decoded RESULT: column names + rows rendered as text. */
    static final class Result {
        final List<String> columns = new ArrayList<>();
        final List<List<String>> rows = new ArrayList<>();
        String note = "";

        static Result parse(ByteBuffer b) {
            Result r = new Result();
            int kind = b.getInt();
            switch (kind) {
                case 1 -> r.note = "ok";
                case 3 -> r.note = "keyspace " + readString(b);
                case 5 -> {
                    String change = readString(b), target = readString(b), ks = readString(b);
                    r.note = change + " " + target + " " + ks + (target.equals("KEYSPACE") ? "" : "." + readString(b));
                }
                case 2 -> r.parseRows(b);
                default -> r.note = "result kind " + kind;
            }
            return r;
        }

        private void parseRows(ByteBuffer b) {
            int flags = b.getInt();
            int ncols = b.getInt();
            if ((flags & 0x0002) != 0) readBytes(b); // paging state
            List<int[]> types = new ArrayList<>();
            if ((flags & 0x0004) == 0) {
                boolean global = (flags & 0x0001) != 0;
                if (global) { readString(b); readString(b); }
                for (int i = 0; i < ncols; i++) {
                    if (!global) { readString(b); readString(b); }
                    columns.add(readString(b));
                    types.add(new int[] {readType(b)});
                }
            }
            int nrows = b.getInt();
            for (int i = 0; i < nrows; i++) {
                List<String> row = new ArrayList<>(ncols);
                for (int c = 0; c < ncols; c++) {
                    byte[] v = readBytes(b);
                    row.add(render(types.isEmpty() ? -1 : types.get(c)[0], v));
                }
                rows.add(row);
            }
        }

        /** Reads an [option] type spec, returns its id (nested specs are consumed). */
        private static int readType(ByteBuffer b) {
            int id = b.getShort() & 0xffff;
            switch (id) {
                case 0x0000 -> readString(b);
                case 0x0020, 0x0022 -> readType(b);
                case 0x0021 -> { readType(b); readType(b); }
                case 0x0030 -> {
                    readString(b); readString(b);
                    int n = b.getShort() & 0xffff;
                    for (int i = 0; i < n; i++) { readString(b); readType(b); }
                }
                case 0x0031 -> {
                    int n = b.getShort() & 0xffff;
                    for (int i = 0; i < n; i++) readType(b);
                }
                default -> { }
            }
            return id;
        }

        private static String render(int type, byte[] v) {
            if (v == null) return "null";
            ByteBuffer b = ByteBuffer.wrap(v);
            return switch (type) {
                case 0x0001, 0x000D -> new String(v, StandardCharsets.UTF_8);
                case 0x0002, 0x0005, 0x0012 -> Long.toString(b.getLong());
                case 0x0004 -> Boolean.toString(v[0] != 0);
                case 0x0006 -> new BigDecimal(new BigInteger(java.util.Arrays.copyOfRange(v, 4, v.length)), b.getInt()).toString();
                case 0x0007 -> Double.toString(b.getDouble());
                case 0x0008 -> Float.toString(b.getFloat());
                case 0x0009 -> Integer.toString(b.getInt());
                case 0x000B -> Instant.ofEpochMilli(b.getLong()).toString();
                case 0x000C, 0x000F -> new UUID(b.getLong(), b.getLong()).toString();
                case 0x000E -> new BigInteger(v).toString();
                case 0x0010 -> {
                    try { yield InetAddress.getByAddress(v).getHostAddress(); }
                    catch (IOException e) { yield HexFormat.of().formatHex(v); }
                }
                case 0x0011 -> LocalDate.ofEpochDay((b.getInt() & 0xffffffffL) - (1L << 31)).toString();
                case 0x0013 -> Short.toString(b.getShort());
                case 0x0014 -> Byte.toString(b.get());
                default -> "0x" + HexFormat.of().formatHex(v);
            };
        }

        void print() {
            if (columns.isEmpty() && rows.isEmpty()) {
                System.out.println(note);
                return;
            }
            System.out.println(String.join("\t", columns));
            for (List<String> row : rows) System.out.println(String.join("\t", row));
            System.out.println("(" + rows.size() + " row" + (rows.size() == 1 ? "" : "s") + ")");
        }
    }
}
