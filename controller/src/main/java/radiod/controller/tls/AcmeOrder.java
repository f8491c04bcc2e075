package radiod.controller.tls;

import java.security.InvalidAlgorithmParameterException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.NoSuchAlgorithmException;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.shredzone.acme4j.AccountBuilder;
import org.shredzone.acme4j.Authorization;
import org.shredzone.acme4j.Login;
import org.shredzone.acme4j.Order;
import org.shredzone.acme4j.PollableResource;
import org.shredzone.acme4j.Problem;
import org.shredzone.acme4j.Session;
import org.shredzone.acme4j.Status;
import org.shredzone.acme4j.challenge.Dns01Challenge;
import org.shredzone.acme4j.exception.AcmeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import radiod.cluster.tls.AcmeChallenge;

/**
 * One ACME order by DNS-01, with acme4j: the account (created, or found by its key), a new order for the names, a
 * challenge record per pending authorization (published by the caller, who returns once they are served), the CA's
 * validation, the CSR with a fresh key, the chain. Every wait is bounded; {@link Fence#check()} is asked between steps,
 * so a node that lost the duty stops at the next one.
 */
final class AcmeOrder {
    /** Writes the challenge records and returns once the cluster's DNS serves them. */
    interface Challenges {
        void publish(List<AcmeChallenge> records) throws AcmeException, InterruptedException;
    }

    /** Throws {@link Deposed} when this node no longer holds the duty. */
    interface Fence {
        void check();
    }

    /** The duty went to another node meanwhile. */
    static final class Deposed extends RuntimeException {
        Deposed() {
            super("this node no longer holds the ACME duty");
        }
    }

    /** What the CA issued: the chain (leaf first) and the key it was issued for. */
    record Issued(List<X509Certificate> chain, KeyPair key) {
    }

    /**
     * @param validation how long the CA may take to validate every challenge
     * @param order      how long each of the order's other steps may take (ready, then issued)
     */
    record Limits(Duration validation, Duration order) {
    }

    private static final Logger log = LoggerFactory.getLogger(AcmeOrder.class);

    private final Session session;
    private final Limits limits;

    AcmeOrder(Session session, Limits limits) {
        this.session = session;
        this.limits = limits;
    }

    /** A session with the CA for these settings, its HTTP calls bounded by {@code httpTimeout}. */
    static Session session(AcmeSettings settings, Duration httpTimeout) {
        Session session = settings.caFile() == null ? new Session(settings.directoryUri())
                : new Session(settings.directoryUri(), AcmeTrust.provider(AcmeTrust.context(settings.caFile())));
        session.networkSettings().setTimeout(httpTimeout);
        return session;
    }

    /** A fresh EC P-256 key pair: for the account, and for each certificate. */
    static KeyPair newKeyPair() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"));
            return g.generateKeyPair();
        } catch (NoSuchAlgorithmException | InvalidAlgorithmParameterException e) {
            throw new IllegalStateException("the JDK has no EC P-256: " + e.getMessage(), e);
        }
    }

    Issued obtain(KeyPair accountKey, String email, List<String> names, String node, Challenges challenges, Fence fence)
            throws AcmeException, InterruptedException {
        AccountBuilder account = new AccountBuilder().agreeToTermsOfService().useKeyPair(accountKey);
        if (email != null) {
            account.addEmail(email);
        }
        Login login = account.createLogin(session); // the existing account for this key, or a new one
        fence.check();
        Order order = login.newOrder().domains(names).create();
        log.info("acme: order for {} created ({})", names, order.getLocation());

        record Pending(String domain, Dns01Challenge challenge) {
        }
        List<Pending> pending = new ArrayList<>();
        List<AcmeChallenge> records = new ArrayList<>();
        for (Authorization auth : order.getAuthorizations()) {
            String domain = (auth.isWildcard() ? "*." : "") + auth.getIdentifier().getDomain();
            Status status = auth.getStatus();
            if (status == Status.VALID) {
                log.info("acme: {} is authorized already", domain);
                continue;
            }
            if (status != Status.PENDING) {
                throw new AcmeException("the CA's authorization for " + domain + " is " + status.name().toLowerCase());
            }
            Dns01Challenge challenge = auth.findChallenge(Dns01Challenge.class).orElseThrow(
                    () -> new AcmeException("the CA offers no dns-01 challenge for " + domain));
            pending.add(new Pending(domain, challenge));
            records.add(new AcmeChallenge(Dns01Challenge.toRRName(auth.getIdentifier()), challenge.getDigest(), node,
                    System.currentTimeMillis()));
        }
        if (!pending.isEmpty()) {
            challenges.publish(records);
            fence.check();
            for (Pending p : pending) {
                p.challenge().trigger();
            }
            long deadline = System.nanoTime() + limits.validation().toNanos();
            for (Pending p : pending) {
                Status s = poll(p.challenge(), EnumSet.of(Status.VALID, Status.INVALID), deadline,
                        "the CA's validation of " + p.domain());
                if (s != Status.VALID) {
                    throw new AcmeException("the CA could not validate " + p.domain() + " by DNS-01: "
                            + describe(p.challenge().getError()));
                }
                log.info("acme: {} validated", p.domain());
            }
            fence.check();
        }
        Status ready = poll(order, EnumSet.of(Status.READY, Status.VALID, Status.INVALID),
                System.nanoTime() + limits.order().toNanos(), "the order becoming ready");
        if (ready == Status.INVALID) {
            throw new AcmeException("the CA marked the order invalid: " + describe(order.getError()));
        }
        KeyPair key = newKeyPair();
        fence.check();
        order.execute(key);
        Status issued = poll(order, EnumSet.of(Status.VALID, Status.INVALID),
                System.nanoTime() + limits.order().toNanos(), "the certificate's issuance");
        if (issued != Status.VALID) {
            throw new AcmeException("the CA did not issue the certificate: " + describe(order.getError()));
        }
        org.shredzone.acme4j.Certificate certificate = order.getCertificate();
        certificate.download();
        List<X509Certificate> chain = certificate.getCertificateChain();
        if (chain.isEmpty()) {
            throw new AcmeException("the CA sent an empty certificate chain");
        }
        return new Issued(List.copyOf(chain), key);
    }

    /**
     * Polls until the resource's status is one of {@code wanted}, honouring the server's Retry-After within
     * [50 ms, 3 s] and otherwise polling from 100 ms up to 2 s apart; throws past the deadline.
     */
    static Status poll(PollableResource resource, Set<Status> wanted, long deadlineNanos, String what)
            throws AcmeException, InterruptedException {
        Status status = resource.getStatus();
        long delay = 100;
        while (!wanted.contains(status)) {
            long left = TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime());
            if (left <= 0) {
                throw new AcmeException(what + " did not finish in time (still " + status.name().toLowerCase() + ")");
            }
            Optional<Instant> retryAfter = resource.fetch();
            status = resource.getStatus();
            if (wanted.contains(status)) {
                break;
            }
            long wait = retryAfter.map(t -> Math.max(50, Math.min(3000, Duration.between(Instant.now(), t).toMillis())))
                    .orElse(delay);
            delay = Math.min(2000, delay * 2);
            Thread.sleep(Math.max(1, Math.min(wait, TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime()))));
        }
        return status;
    }

    /** A problem document in one line: its detail, else its title, else its type; with sub-problems. */
    static String describe(Optional<Problem> problem) {
        if (problem.isEmpty()) {
            return "no reason given";
        }
        Problem p = problem.get();
        StringBuilder sb = new StringBuilder(p.getDetail().or(p::getTitle).orElse(String.valueOf(p.getType())));
        for (Problem sub : p.getSubProblems()) {
            sb.append("; ").append(sub.getIdentifier().map(i -> i.getDomain() + ": ").orElse(""))
                    .append(sub.getDetail().or(sub::getTitle).orElse(String.valueOf(sub.getType())));
        }
        return sb.toString();
    }
}
