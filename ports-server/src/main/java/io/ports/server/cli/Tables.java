package io.ports.server.cli;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Supplier;

/** The daemon's JSON as text for people: aligned tables and "key: value" lines. */
final class Tables {
    /** The clock heartbeat ages are measured against; tests replace it. */
    static volatile Supplier<Instant> now = Instant::now;

    private Tables() {
    }

    /** A table: a header and rows of cells, columns padded to their widest cell; numeric columns right-aligned. */
    static void print(PrintWriter out, List<String> header, List<List<String>> rows) {
        int n = header.size();
        int[] width = new int[n];
        boolean[] numeric = new boolean[n];
        for (int i = 0; i < n; i++) {
            width[i] = header.get(i).length();
            numeric[i] = !rows.isEmpty();
        }
        for (List<String> row : rows) {
            for (int i = 0; i < n; i++) {
                String cell = row.get(i);
                width[i] = Math.max(width[i], cell.length());
                numeric[i] &= cell.isEmpty() || cell.chars().allMatch(c -> c >= '0' && c <= '9' || c == '.' || c == '%');
            }
        }
        out.println(line(header, width, numeric));
        for (List<String> row : rows) {
            out.println(line(row, width, numeric));
        }
    }

    private static String line(List<String> cells, int[] width, boolean[] numeric) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < cells.size(); i++) {
            String cell = cells.get(i);
            boolean last = i == cells.size() - 1;
            if (i > 0) {
                b.append("  ");
            }
            if (numeric[i]) {
                b.append(" ".repeat(width[i] - cell.length())).append(cell);
            } else {
                b.append(cell);
                if (!last) {
                    b.append(" ".repeat(width[i] - cell.length()));
                }
            }
        }
        return b.toString().stripTrailing();
    }

    /** Allocations as the table of {@code list}, {@code service}, {@code port} and {@code type}; "no allocations" when empty. */
    static void allocations(PrintWriter out, List<JsonNode> allocations) {
        if (allocations.isEmpty()) {
            out.println("no allocations");
            return;
        }
        List<List<String>> rows = new ArrayList<>();
        for (JsonNode a : allocations) {
            rows.add(List.of(text(a, "port"), text(a, "service_name"), text(a, "service_type"), text(a, "status"),
                    pid(a), text(a, "host"), age(a.get("last_heartbeat")), text(a, "allocation_id")));
        }
        print(out, List.of("PORT", "SERVICE", "TYPE", "STATUS", "PID", "HOST", "HEARTBEAT", "ALLOCATION ID"), rows);
    }

    /** One allocation, as the line {@code allocate}, {@code release} and {@code heartbeat} print. */
    static String allocation(JsonNode a) {
        return text(a, "service_name") + " (" + text(a, "service_type") + ") port " + text(a, "port") + ", " + text(a, "status").toLowerCase(Locale.ROOT)
                + ", allocation " + text(a, "allocation_id");
    }

    /**
     * The allocations in an answer: the answer itself when it is an array, else the first array
     * field of allocation objects ({@code allocations}, {@code services}, ...), else a single
     * {@code allocation}.
     */
    static List<JsonNode> allocationsIn(JsonNode answer) {
        if (answer.isArray()) {
            return list(answer);
        }
        for (String name : new String[] {"allocations", "services", "directory"}) {
            JsonNode node = answer.get(name);
            if (node != null && node.isArray()) {
                return list(node);
            }
        }
        JsonNode one = answer.get("allocation");
        if (one != null && one.isObject()) {
            return List.of(one);
        }
        Iterator<Map.Entry<String, JsonNode>> fields = answer.fields();
        while (fields.hasNext()) {
            JsonNode node = fields.next().getValue();
            if (node.isArray() && node.size() > 0 && isAllocation(node.get(0))) {
                return list(node);
            }
        }
        if (isAllocation(answer)) {
            return List.of(answer);
        }
        return List.of();
    }

    /** An allocation object, not merely something that names one (a finding has an allocation_id too). */
    static boolean isAllocation(JsonNode node) {
        return node.isObject() && node.has("allocation_id") && node.has("service_type") && node.has("allocated_at");
    }

    /**
     * Reconciliation findings (of {@code health} and {@code reconcile}): what, where, whose record,
     * which process, what would be done, and the detail; "no findings" when empty.
     */
    static void findings(PrintWriter out, JsonNode findings) {
        if (findings == null || !findings.isArray() || findings.isEmpty()) {
            out.println("no findings");
            return;
        }
        List<List<String>> rows = new ArrayList<>();
        for (JsonNode f : findings) {
            JsonNode holder = f.get("holder");
            String process = holder == null || holder.isNull() ? "" : text(holder, "pid") + " " + text(holder, "command");
            rows.add(List.of(text(f, "kind"), text(f, "port") + (f.has("protocol") ? "/" + text(f, "protocol") : ""), text(f, "service_name"),
                    process.strip(), text(f, "action") + (f.path("automatic").asBoolean(false) ? " (auto)" : ""), text(f, "detail")));
        }
        print(out, List.of("FINDING", "PORT", "SERVICE", "PROCESS", "ACTION", "DETAIL"), rows);
    }

    /** Actions a reconciliation applied: what, on which port and record, how it went. */
    static void actions(PrintWriter out, JsonNode actions) {
        List<List<String>> rows = new ArrayList<>();
        for (JsonNode a : actions) {
            rows.add(List.of(text(a, "action"), text(a, "result"), text(a, "port"), text(a, "allocation_id"), text(a, "detail")));
        }
        print(out, List.of("ACTION", "RESULT", "PORT", "ALLOCATION ID", "DETAIL"), rows);
    }

    /**
     * Any JSON for people: scalars as "key: value", objects indented below their key, arrays of
     * objects as tables (one column per field seen), arrays of scalars comma-separated. Leaves out
     * {@code success}, which the exit code already says.
     */
    static void fields(PrintWriter out, JsonNode node, String indent) {
        Iterator<Map.Entry<String, JsonNode>> it = node.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            String key = e.getKey();
            JsonNode v = e.getValue();
            if (indent.isEmpty() && key.equals("success")) {
                continue;
            }
            if (v.isObject()) {
                if (v.isEmpty()) {
                    out.println(indent + key + ": none");
                } else {
                    out.println(indent + key + ":");
                    fields(out, v, indent + "  ");
                }
            } else if (v.isArray() && v.size() > 0 && v.get(0).isObject()) {
                out.println(indent + key + ":");
                boolean isAllocations = isAllocation(v.get(0));
                indented(out, indent + "  ", w -> {
                    if (isAllocations) {
                        allocations(w, list(v));
                    } else {
                        objects(w, list(v));
                    }
                });
            } else if (v.isArray()) {
                List<String> items = new ArrayList<>();
                v.forEach(x -> items.add(scalar(x)));
                out.println(indent + key + ": " + (items.isEmpty() ? "none" : String.join(", ", items)));
            } else {
                out.println(indent + key + ": " + scalar(v));
            }
        }
    }

    /** Objects as a table: one column per field name seen, nested values as compact JSON. */
    static void objects(PrintWriter out, List<JsonNode> objects) {
        Set<String> keys = new LinkedHashSet<>();
        objects.forEach(o -> o.fieldNames().forEachRemaining(keys::add));
        List<String> header = keys.stream().map(k -> k.toUpperCase(Locale.ROOT).replace('_', ' ')).toList();
        List<List<String>> rows = new ArrayList<>();
        for (JsonNode o : objects) {
            List<String> row = new ArrayList<>();
            for (String k : keys) {
                JsonNode v = o.get(k);
                row.add(v == null || v.isNull() ? "" : v.isContainerNode() ? Json.line(v) : v.asText());
            }
            rows.add(row);
        }
        print(out, header, rows);
    }

    static String text(JsonNode node, String field) {
        JsonNode v = node.get(field);
        return v == null || v.isNull() ? "" : v.asText();
    }

    private static String pid(JsonNode a) {
        String pid = text(a, "process_id");
        return pid.equals("0") ? "" : pid;
    }

    /** "12s ago", "3m4s ago"; the raw text when it is not an ISO-8601 instant. */
    static String age(JsonNode timestamp) {
        if (timestamp == null || timestamp.isNull()) {
            return "";
        }
        try {
            Duration d = Duration.between(Instant.parse(timestamp.asText()), now.get());
            if (d.isNegative()) {
                return "just now";
            }
            return Durations.format(Duration.ofSeconds(d.getSeconds())) + " ago";
        } catch (DateTimeParseException e) {
            return timestamp.asText();
        }
    }

    private static String scalar(JsonNode v) {
        return v.isNull() ? "none" : v.isContainerNode() ? Json.line(v) : v.asText();
    }

    private static List<JsonNode> list(JsonNode array) {
        List<JsonNode> l = new ArrayList<>(array.size());
        array.forEach(l::add);
        return l;
    }

    /** Prints a block into a buffer, then each of its lines indented. */
    static void indented(PrintWriter out, String indent, Consumer<PrintWriter> block) {
        StringWriter buffer = new StringWriter();
        PrintWriter w = new PrintWriter(buffer);
        block.accept(w);
        w.flush();
        buffer.toString().lines().forEach(l -> out.println(indent + l));
    }
}
