package radiod.radioctl.command;

import java.util.Iterator;

import radiod.cluster.model.Transcoding;

/** The codecs a transcoded mount can use, for help texts and shell completion. */
final class Codecs implements Iterable<String> {
    @Override
    public Iterator<String> iterator() {
        return Transcoding.CODECS.keySet().stream().sorted().iterator();
    }
}
