package io.ports.server.cli;

import io.ports.core.registry.RegistryStore;
import io.ports.core.registry.RegistryStores;
import io.ports.etcd.RegistryMigration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code ports migrate --from URI --to URI}: copies a registry between stores, for example the embedded
 * file store into etcd when a cluster outgrows one host ({@code --from file:~/.ports/registry --to
 * etcd://10.0.0.5:2379}), and back. All or nothing (see {@link RegistryMigration#copy}).
 */
@Command(name = "migrate",
        sortOptions = false,
        header = "Copy the registry from one store into another (file store to etcd, and back).",
        description = {
            "Copies every record of the source store into the target store, all or nothing: when the target has one of the ids "
                + "already, or a live record on a port a copied live record holds, nothing is written. The source is left as it was.",
            "Stop the daemons that use either store first (the file store admits one process at a time).",
            "Store URIs: file:DIR (or a plain directory), etcd://HOST:PORT[,HOST:PORT...][/PREFIX][?user=..&password=..&tls=true], memory:."},
        footer = {"", "Examples:", "  ports migrate --from file:$HOME/.ports/registry --to etcd://127.0.0.1:2379",
            "  ports migrate --from etcd://127.0.0.1:2379 --to file:/var/lib/ports/registry"})
final class MigrateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--from", required = true, paramLabel = "URI", description = "The store to copy from.")
    String from;

    @Option(names = "--to", required = true, paramLabel = "URI", description = "The store to copy into.")
    String to;

    @Option(names = "--json", description = "Print one JSON line.")
    boolean json;

    @Override
    public Integer call() {
        if (from.strip().equals(to.strip())) {
            throw new ParameterException(spec.commandLine(), "--from and --to name the same store '" + from + "': expected two different stores");
        }
        RegistryMigration.Result result;
        try (RegistryStore source = open("--from", from); RegistryStore target = open("--to", to)) {
            result = RegistryMigration.copy(source, target);
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("records", result.records());
            m.put("live", result.live());
            m.put("from", result.from());
            m.put("to", result.to());
            out.println(Json.line(m));
        } else {
            out.println("copied " + result.records() + " records (" + result.live() + " live) from " + result.from() + " to " + result.to());
        }
        out.flush();
        return Main.OK;
    }

    private RegistryStore open(String option, String uri) {
        try {
            return RegistryStores.open(uri);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "invalid " + option + ": " + e.getMessage());
        }
    }
}
