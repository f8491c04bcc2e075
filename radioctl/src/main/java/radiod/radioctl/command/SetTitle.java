package radiod.radioctl.command;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import radiod.cluster.etcd.EtcdClients;
import radiod.cluster.model.MountPath;
import radiod.cluster.model.Title;
import radiod.cluster.mounts.MountNotFoundException;
import radiod.radioctl.ExitCode;
import radiod.radioctl.Failure;
import radiod.radioctl.connect.Connection;
import radiod.radioctl.output.Printer;

/** {@code radioctl set-title /live.mp3 "Artist - Title"}: the song title every listener sees now. */
@Command(name = "set-title", mixinStandardHelpOptions = true, sortOptions = false, abbreviateSynopsis = true,
        description = {"Sets the song title of a mount by hand, for every node's listeners (ICY StreamTitle), the "
                + "status pages and `radioctl status`.",
                "The encoder's next title update replaces it. An empty TITLE removes the title."})
public final class SetTitle extends EtcdCommand {
    @Parameters(index = "0", paramLabel = "MOUNT", description = "mount path, e.g. /live.mp3")
    String path;

    @Parameters(index = "1", paramLabel = "TITLE", description = "the title, e.g. \"Artist - Song\" (UTF-8, at most "
            + Title.MAX_BYTES + " bytes, no control characters)")
    String title;

    @Override
    void validate() {
        MountPath.validate(path);
        String problem = Title.problem(title);
        if (problem != null) {
            throw Failure.usage(problem);
        }
    }

    @Override
    int run(Connection etcd, Printer out) {
        etcd.mounts().get(path).orElseThrow(() -> new MountNotFoundException(path));
        if (title.isEmpty()) {
            etcd.titles().delete(path);
        } else {
            EtcdClients.await(etcd.titles().set(path, new Title(title, "", "radioctl", System.currentTimeMillis()))
                    .orTimeout(etcd.settings().timeout().toMillis(), TimeUnit.MILLISECONDS),
                    etcd.settings().timeout().toMillis(), "setting the title of " + path);
        }
        if (out.wantsJson()) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("mount", path);
            doc.put("title", title.isEmpty() ? null : title);
            out.json(doc);
        } else {
            out.line(title.isEmpty() ? "removed the title of " + path : "title of " + path + " is now: " + title);
        }
        return ExitCode.OK;
    }
}
