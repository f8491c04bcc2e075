# Ansible connection to a test host of bin/check-ops: a systemd-nspawn container booted with systemd as
# PID 1, reached by entering its namespaces (mount, UTS, IPC, network, PID) with nsenter.
# ansible_host is the PID of the container's init as seen from the controller.
from __future__ import annotations

import shlex
import subprocess

from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.module_utils.common.text.converters import to_bytes
from ansible.plugins.connection import ConnectionBase

DOCUMENTATION = """
    name: nsenter
    short_description: run tasks inside a local container's namespaces with nsenter
    description:
      - Runs commands in the namespaces of a local process (the init of a systemd-nspawn container),
        as root, with a clean environment. Used by bin/check-ops to run the roles against test hosts.
    options:
      remote_addr:
        description: PID of the container's init as seen from the controller.
        default: inventory_hostname
        vars:
          - name: inventory_hostname
          - name: ansible_host
"""

ENVIRONMENT = ["env", "-i", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
               "HOME=/root", "LANG=C.UTF-8", "TERM=dumb"]


class Connection(ConnectionBase):
    """Local connection into a container's namespaces."""

    transport = "nsenter"
    has_pipelining = True
    default_user = "root"

    def _connect(self):
        if not self._connected:
            pid = str(self.get_option("remote_addr"))
            if not pid.isdigit():
                raise AnsibleConnectionFailure("nsenter: ansible_host must be the container's init PID, got %r" % pid)
            self._pid = pid
            self._connected = True
        return self

    def _command(self, cmd):
        return (["nsenter", "--target", self._pid, "--mount", "--uts", "--ipc", "--net", "--pid",
                 "--root", "--wd"] + ENVIRONMENT + ["/bin/sh", "-c", cmd])

    def exec_command(self, cmd, in_data=None, sudoable=False):
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        self._connect()
        proc = subprocess.Popen(self._command(cmd), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        stdout, stderr = proc.communicate(in_data)
        return proc.returncode, stdout, stderr

    def put_file(self, in_path, out_path):
        super().put_file(in_path, out_path)
        self._connect()
        with open(to_bytes(in_path, errors="surrogate_or_strict"), "rb") as source:
            proc = subprocess.run(self._command("cat > " + shlex.quote(out_path)), stdin=source,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
        if proc.returncode != 0:
            raise AnsibleError("nsenter: cannot write %s: %s" % (out_path, proc.stderr.decode(errors="replace")))

    def fetch_file(self, in_path, out_path):
        super().fetch_file(in_path, out_path)
        self._connect()
        with open(to_bytes(out_path, errors="surrogate_or_strict"), "wb") as target:
            proc = subprocess.run(self._command("cat " + shlex.quote(in_path)), stdout=target,
                                  stderr=subprocess.PIPE, check=False)
        if proc.returncode != 0:
            raise AnsibleError("nsenter: cannot read %s: %s" % (in_path, proc.stderr.decode(errors="replace")))

    def close(self):
        self._connected = False
