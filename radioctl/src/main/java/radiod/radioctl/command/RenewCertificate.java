package radiod.radioctl.command;

import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.Map;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import radiod.cluster.tls.AcmeStatus;
import radiod.cluster.tls.RenewRequest;
import radiod.cluster.tls.TlsCertificate;
import radiod.cluster.tls.TlsState;
import radiod.radioctl.ExitCode;
import radiod.radioctl.Failure;
import radiod.radioctl.connect.Connection;
import radiod.radioctl.connect.Durations;
import radiod.radioctl.output.Printer;

/** {@code radioctl renew-certificate}: the node holding the ACME duty obtains a new certificate now. */
@Command(name = "renew-certificate", mixinStandardHelpOptions = true, sortOptions = false, abbreviateSynopsis = true,
        description = {"Asks the node that holds the ACME duty to obtain a new certificate for the zone now, even if "
                + "the current one is far from expiry or the last attempt failed and its retry is not due yet. Every "
                + "node serves the new certificate within seconds of it being stored.",
                "Without --wait it returns once the request is stored; `radioctl status` shows how it goes."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:asked (with --wait: renewed)",
                "1:with --wait: the attempt failed (the reason is printed), or it did not end in time",
                "2:bad usage",
                "3:no node holds the ACME duty (tls.acme is not configured, or no node is up): nothing was written",
                "5:etcd unreachable"})
public final class RenewCertificate extends EtcdCommand {
    @Option(names = "--wait", paramLabel = "DURATION", description = "wait until the new certificate is stored (or "
            + "the attempt fails), at most this long, e.g. 2m (at most 5m)")
    String waitText;

    private Duration wait;

    @Override
    void validate() {
        wait = waitText == null ? null : Durations.parse("--wait", waitText);
    }

    @Override
    int run(Connection etcd, Printer out) {
        TlsState before = etcd.snapshot().tls();
        String holder = before.holder().map(h -> h.node()).orElseThrow(() -> Failure.notFound(
                "no node holds the ACME duty: no node is configured with tls.acme, or none is up; nothing was written"));
        long asked = System.currentTimeMillis();
        long revision = etcd.tls().requestRenewal(new RenewRequest("radioctl", asked));
        if (wait == null) {
            if (out.wantsJson()) {
                Map<String, Object> doc = new LinkedHashMap<>();
                doc.put("requested", true);
                doc.put("revision", revision);
                doc.put("holder", holder);
                out.json(doc);
            } else {
                out.line("asked " + holder + " to renew the certificate (request at etcd revision " + revision
                        + "); `radioctl status` shows how it goes");
            }
            return ExitCode.OK;
        }
        TlsState[] now = new TlsState[1];
        boolean renewed = Poll.until(wait, 250, () -> {
            now[0] = etcd.snapshot().tls();
            if (now[0].certificate().isPresent() && now[0].certificateRevision() > revision) {
                return true;
            }
            AcmeStatus s = now[0].status().orElse(null);
            if (s != null && AcmeStatus.FAILED.equals(s.outcome()) && s.renewHandled() >= revision) {
                throw new Failure(ExitCode.OTHER, "the renewal by " + s.holder() + " failed: " + s.error()
                        + "; it is retried at " + Instant.ofEpochMilli(s.nextAttempt()).truncatedTo(ChronoUnit.SECONDS));
            }
            return false;
        }, "the renewal");
        if (!renewed) {
            throw new Failure(ExitCode.OTHER, "the certificate was not renewed within " + waitText
                    + " (the request stays: `radioctl status` shows how it goes)");
        }
        TlsCertificate c = now[0].certificate().get();
        if (out.wantsJson()) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("renewed", true);
            doc.put("serial", c.serial());
            doc.put("names", c.names());
            doc.put("notAfter", c.notAfter());
            doc.put("by", c.by());
            out.json(doc);
        } else {
            out.line("renewed by " + c.by() + ": serial " + c.serial() + ", for " + String.join(", ", c.names())
                    + ", expires " + Instant.ofEpochMilli(c.notAfter()).truncatedTo(ChronoUnit.SECONDS));
        }
        return ExitCode.OK;
    }
}
