package radiod.dns.zone;

import java.util.Set;
import java.util.TreeSet;

import org.xbill.DNS.Message;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/** What a DNS answer says, read the way the tests compare it. */
public final class Answers {
    private Answers() {
    }

    /** The A and AAAA addresses in the answer section, sorted. */
    public static Set<String> addresses(Message m) {
        Set<String> out = new TreeSet<>();
        for (Record r : m.getSection(Section.ANSWER)) {
            if (r.getType() == Type.A || r.getType() == Type.AAAA) {
                out.add(r.rdataToString());
            }
        }
        return out;
    }
}
