"""The Debian package, end to end on this machine.

Builds the .deb with cpack in the build directory of the binary under test,
checks its control data, installs it with dpkg, checks what an operator would
look at (files, modes, the service user, the enabled-but-stopped unit), runs
`test config` and the daemon exactly as the installed unit would (flags read
from the unit, as the service user), then purges it and checks that nothing is
left.  Needs root and dpkg; skipped for sanitizer builds (the package ships
the normal build) and on a machine where expvarbeat is already installed or
its user or directories exist (the test would otherwise destroy them).
"""

import glob
import grp
import io
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import stat
import subprocess
import tarfile
import unittest

import expvarlib as X

PKG = "expvarbeat"
USER = "expvarbeat"
ETC = "/etc/expvarbeat"
DATA_DIR = "/var/lib/expvarbeat"
LOGS_DIR = "/var/log/expvarbeat"
HOME = "/usr/share/expvarbeat"
CONFFILES = {ETC + "/expvarbeat.yml", ETC + "/expvarbeat.reference.yml",
             ETC + "/modules.d/golang.yml.disabled"}
WANTS_LINK = "/etc/systemd/system/multi-user.target.wants/expvarbeat.service"
# Shared libraries the daemon links; dpkg-shlibdeps must have found each.
LIB_PACKAGES = ("libcurl", "libyajl", "librdkafka", "libyaml", "libmicrohttpd")
# What is left of us anywhere on the system after a purge is a failure.
LEFTOVERS = (ETC, DATA_DIR, LOGS_DIR, HOME, "/usr/bin/expvarbeat",
             "/usr/lib/systemd/system/expvarbeat.service",
             "/lib/systemd/system/expvarbeat.service", WANTS_LINK)


def run(argv, timeout=120, **kw):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=timeout, env=X.base_env(), **kw)


def dpkg_status():
    """dpkg's idea of the package: 'installed', 'config-files', '' (unknown)."""
    r = run(["dpkg-query", "-W", "-f=${db:Status-Status}", PKG])
    status = r.stdout.strip() if r.returncode == 0 else ""
    return "" if status == "not-installed" else status


def user_exists():
    try:
        pwd.getpwnam(USER)
        return True
    except KeyError:
        return False


def group_exists():
    try:
        grp.getgrnam(USER)
        return True
    except KeyError:
        return False


def processes_of(uid):
    """Pids of processes running with real or effective uid `uid`."""
    pids = []
    for status in glob.glob("/proc/[0-9]*/status"):
        try:
            with open(status) as f:
                for line in f:
                    if line.startswith("Uid:"):
                        if uid in [int(x) for x in line.split()[1:3]]:
                            pids.append(int(status.split("/")[2]))
                        break
        except OSError:
            pass
    return pids


def unit_settings(path):
    """The unit file as {key: [values]} plus Environment= as a dict."""
    keys, env = {}, {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;[" or "=" not in line:
                continue
            k, v = line.split("=", 1)
            keys.setdefault(k, []).append(v)
            if k == "Environment":
                for assignment in shlex.split(v):
                    name, _, value = assignment.partition("=")
                    env[name] = value
    return keys, env


def unit_command(path):
    """ExecStart with $VARS expanded the way systemd does for unquoted
    $NAME: split on whitespace into separate arguments."""
    keys, env = unit_settings(path)
    argv = []
    for word in keys["ExecStart"][0].split():
        if word.startswith("$"):
            argv += env.get(word[1:], "").split()
        else:
            argv.append(word)
    return argv


def why_not_runnable():
    """The reason this machine cannot run the test, or None."""
    if os.geteuid() != 0:
        return "needs root to install a .deb with dpkg"
    for tool in ("dpkg", "dpkg-deb", "dpkg-query", "cpack", "setpriv"):
        if not shutil.which(tool):
            return "%s is not installed" % tool
    if os.environ.get("EXPVARBEAT_SANITIZE", "").upper() in ("1", "ON", "TRUE", "YES") or \
            X.binary_is_sanitized():
        return "sanitizer build: the package is built from the normal build only"
    build_dir = os.path.dirname(os.path.abspath(X.BIN))
    if not os.path.isfile(os.path.join(build_dir, "CPackConfig.cmake")):
        return "no CPackConfig.cmake beside %s (not a CMake build directory)" % X.BIN
    if dpkg_status():
        return "expvarbeat is already known to dpkg here; not touching an operator's installation"
    if user_exists() or group_exists():
        return "a user or group named expvarbeat already exists; the purge would remove it"
    for p in (ETC, DATA_DIR, LOGS_DIR, HOME):
        if os.path.exists(p):
            return "%s already exists; the purge would remove it" % p
    return None


class PackageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        reason = why_not_runnable()
        if reason:
            raise unittest.SkipTest(reason)
        X.require_binary()
        cls.build_dir = os.path.dirname(os.path.abspath(X.BIN))
        r = run([X.BIN, "version"])
        cls.version = re.match(r"expvarbeat version (\S+) ", r.stdout).group(1)
        cls.arch = run(["dpkg", "--print-architecture"]).stdout.strip()
        out_dir = os.path.join(cls.build_dir, "packaging")
        name = "%s_%s_%s.deb" % (PKG, cls.version, cls.arch)
        cls.deb = os.path.join(out_dir, name)
        if os.path.exists(cls.deb):
            os.unlink(cls.deb)
        r = run(["cpack", "-G", "DEB", "--config", os.path.join(cls.build_dir, "CPackConfig.cmake"),
                 "-B", out_dir], cwd=cls.build_dir)
        if r.returncode != 0 or not os.path.isfile(cls.deb):
            raise AssertionError("cpack -G DEB did not write %s (exit %d)\n%s\n%s" %
                                 (name, r.returncode, r.stdout[-3000:], r.stderr[-3000:]))

    # ---- the .deb itself ------------------------------------------------

    def control(self, field):
        r = run(["dpkg-deb", "-f", self.deb, field])
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.strip()

    def test_control_data(self):
        self.assertEqual(self.control("Package"), PKG)
        self.assertEqual(self.control("Version"), self.version)
        self.assertEqual(self.control("Architecture"), self.arch)
        self.assertEqual(self.control("Section"), "admin")
        self.assertTrue(self.control("Maintainer"))
        self.assertTrue(self.control("Description"))
        depends = self.control("Depends")
        names = [d.split()[0] for d in depends.split(", ")]
        for lib in LIB_PACKAGES + ("libc6",):
            self.assertTrue(any(n.startswith(lib) for n in names),
                            "Depends lacks %s: %s" % (lib, depends))
        info = run(["dpkg-deb", "-I", self.deb]).stdout
        for script in ("postinst", "prerm", "postrm"):
            self.assertRegex(info, r"\d+ bytes,\s+\d+ lines\s+\*\s+%s\s" % script,
                             "%s missing or not executable:\n%s" % (script, info))
        ctl = os.path.join(self.build_dir, "packaging", "control-test")
        shutil.rmtree(ctl, ignore_errors=True)
        self.addCleanup(shutil.rmtree, ctl, True)
        self.assertEqual(run(["dpkg-deb", "-e", self.deb, ctl]).returncode, 0)
        with open(os.path.join(ctl, "conffiles")) as f:
            self.assertEqual(set(f.read().split()), CONFFILES)

    def test_binary_is_stripped(self):
        fsys = subprocess.run(["dpkg-deb", "--fsys-tarfile", self.deb], stdout=subprocess.PIPE,
                              check=True, timeout=60).stdout
        with tarfile.open(fileobj=io.BytesIO(fsys)) as tar:
            for member in tar:
                if member.name == "./usr/bin/expvarbeat":
                    elf = tar.extractfile(member).read()
                    break
            else:
                self.fail("no ./usr/bin/expvarbeat in the package")
        self.assertEqual(elf[:4], b"\x7fELF")
        # Section names live in .shstrtab: a stripped binary has neither.
        self.assertNotIn(b".symtab\0", elf)
        self.assertNotIn(b".debug_info\0", elf)

    # ---- install, run, purge --------------------------------------------

    def cleanup_install(self):
        """Whatever happened, leave the machine as setUpClass found it."""
        daemon = getattr(self, "daemon", None)
        if daemon is not None:
            daemon.kill()
        if dpkg_status():
            run(["dpkg", "--purge", PKG])
        if user_exists():
            run(["userdel", USER])
        if group_exists():
            run(["groupdel", USER])
        for p in (ETC, DATA_DIR, LOGS_DIR, HOME):
            shutil.rmtree(p, ignore_errors=True)

    def dpkg_install(self):
        r = run(["dpkg", "-i", self.deb])
        self.assertEqual(r.returncode, 0, "dpkg -i failed:\n%s\n%s" % (r.stdout, r.stderr))
        self.assertEqual(dpkg_status(), "installed")

    def test_install_run_purge(self):
        self.addCleanup(self.cleanup_install)
        self.dpkg_install()
        pw = self.check_user()
        self.check_files(pw)
        unit = self.check_unit_installed()
        self.check_enabled_not_started(pw)

        # An upgrade (here: the same version again) keeps the user and the
        # enablement, and respects an operator's `systemctl disable`.
        self.dpkg_install()
        self.assertEqual(pwd.getpwnam(USER).pw_uid, pw.pw_uid)
        self.check_enabled_not_started(pw)
        self.check_disable_survives_upgrade()

        argv = unit_command(unit)
        self.check_test_config(argv, pw)
        self.check_runs_like_the_unit(argv, pw)
        self.check_modules_enable()
        self.check_remove_then_purge(pw)

    def check_user(self):
        pw = pwd.getpwnam(USER)
        self.assertLess(pw.pw_uid, 1000, "not a system user: %s" % (pw,))
        self.assertEqual(pw.pw_dir, DATA_DIR)
        self.assertIn(pw.pw_shell, ("/usr/sbin/nologin", "/sbin/nologin", "/bin/false"))
        self.assertEqual(grp.getgrgid(pw.pw_gid).gr_name, USER)
        return pw

    def assert_node(self, path, mode, uid, gid, kind=stat.S_ISREG):
        st = os.lstat(path)
        self.assertTrue(kind(st.st_mode), "%s has the wrong type" % path)
        self.assertEqual(oct(stat.S_IMODE(st.st_mode)), oct(mode), path)
        self.assertEqual((st.st_uid, st.st_gid), (uid, gid), "%s owner" % path)

    def check_files(self, pw):
        isdir = stat.S_ISDIR
        self.assert_node("/usr/bin/expvarbeat", 0o755, 0, 0)
        # The configuration may hold credentials: root's, readable by the
        # service's group only, never writable by it (strict.perms).
        self.assert_node(ETC, 0o750, 0, pw.pw_gid, isdir)
        self.assert_node(ETC + "/modules.d", 0o750, 0, pw.pw_gid, isdir)
        for f in CONFFILES:
            self.assert_node(f, 0o640, 0, pw.pw_gid)
        with open(ETC + "/expvarbeat.reference.yml", "rb") as a, \
                open(os.path.join(X.SOURCE, "conf", "expvarbeat.reference.yml"), "rb") as b:
            self.assertEqual(a.read(), b.read())
        self.assert_node(DATA_DIR, 0o750, pw.pw_uid, pw.pw_gid, isdir)
        self.assert_node(LOGS_DIR, 0o750, pw.pw_uid, pw.pw_gid, isdir)

        for f in ("fields.yml", "ilm-policy.json"):
            self.assert_node(os.path.join(HOME, "mappings", f), 0o644, 0, 0)
        with open(os.path.join(HOME, "mappings", "expvarbeat-%s.json" % self.version)) as f:
            template = json.load(f)
        self.assertEqual(template["index_patterns"], ["expvarbeat-%s" % self.version])
        self.assertIn("golang", json.dumps(template["template"]["mappings"]))
        shipped = sorted(os.listdir(os.path.join(HOME, "kibana")))
        source = sorted(os.path.basename(p) for p in glob.glob(os.path.join(X.SOURCE, "kibana", "*.ndjson")))
        self.assertEqual(shipped, source)

        # Every path dpkg says it installed is there.
        listed = run(["dpkg", "-L", PKG]).stdout.split()
        missing = [p for p in listed if not os.path.lexists(p)]
        self.assertEqual(missing, [])
        # Every file shipped in /etc is a conffile (dpkg keeps local edits).
        etc_files = {p for p in listed if p.startswith("/etc/") and os.path.isfile(p)}
        self.assertEqual(etc_files, CONFFILES)

    def check_unit_installed(self):
        units = [p for p in run(["dpkg", "-L", PKG]).stdout.split()
                 if p.endswith("/systemd/system/expvarbeat.service")]
        self.assertEqual(len(units), 1, "unit files in the package: %s" % units)
        unit = units[0]
        keys, env = unit_settings(unit)
        expect = {"User": USER, "ProtectSystem": "strict", "ProtectHome": "yes",
                  "PrivateTmp": "yes", "NoNewPrivileges": "yes", "Restart": "on-failure",
                  "WantedBy": "multi-user.target"}
        for k, v in expect.items():
            self.assertEqual(keys.get(k), [v], "%s= in %s" % (k, unit))
        self.assertEqual(set(keys["ReadWritePaths"][0].split()), {DATA_DIR, LOGS_DIR})
        path_opts = env["BEAT_PATH_OPTS"].split()
        self.assertEqual(dict(zip(path_opts[::2], path_opts[1::2])),
                         {"--path.home": HOME, "--path.config": ETC, "--path.data": DATA_DIR,
                          "--path.logs": LOGS_DIR})
        self.assertEqual(unit_command(unit)[0], "/usr/bin/expvarbeat")

        # systemd-analyze verify works offline (systemd need not be PID 1):
        # it loads the unit as systemd would, checks ExecStart's binary and
        # reports unknown keys and bad values, which it otherwise ignores.
        if shutil.which("systemd-analyze"):
            r = run(["systemd-analyze", "verify", unit])
            self.assertEqual((r.returncode, r.stdout + r.stderr), (0, ""),
                             "systemd-analyze verify %s" % unit)
        return unit

    def check_enabled_not_started(self, pw):
        systemd_running = os.path.isdir("/run/systemd/system")
        if systemd_running or shutil.which("deb-systemd-helper"):
            self.assertTrue(os.path.islink(WANTS_LINK), "the unit is not enabled")
        if systemd_running:
            self.assertEqual(run(["systemctl", "is-enabled", "expvarbeat"]).stdout.strip(), "enabled")
            self.assertNotEqual(run(["systemctl", "is-active", "expvarbeat"]).stdout.strip(), "active")
        self.assertEqual(processes_of(pw.pw_uid), [], "something runs as %s after install" % USER)

    def check_disable_survives_upgrade(self):
        if not (shutil.which("systemctl") and shutil.which("deb-systemd-helper")):
            return  # nothing enables the unit on this machine (checked above)
        r = run(["systemctl", "disable", "expvarbeat.service"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(os.path.lexists(WANTS_LINK))
        self.dpkg_install()
        self.assertFalse(os.path.lexists(WANTS_LINK), "an upgrade re-enabled a disabled unit")
        # Enabled again, so that removal has something to disable.
        self.assertEqual(run(["systemctl", "enable", "expvarbeat.service"]).returncode, 0)
        self.assertTrue(os.path.islink(WANTS_LINK))

    def as_service_user(self, argv):
        return ["setpriv", "--reuid=" + USER, "--regid=" + USER, "--init-groups",
                "--pdeathsig=KILL"] + argv

    def check_test_config(self, argv, pw):
        for who, cmd in (("root", argv), (USER, self.as_service_user(argv))):
            r = run(cmd + ["test", "config"], timeout=30)
            self.assertEqual((r.returncode, r.stdout.strip()), (0, "Config OK"),
                             "test config as %s: %s" % (who, r.stderr))

    def check_runs_like_the_unit(self, argv, pw):
        port = X.free_port()
        # The unit's command with BEAT_LOG_OPTS=-e, as the service user.
        cmd = self.as_service_user([argv[0], "-e"] + argv[1:])
        self.daemon = X._Proc(cmd, env={"EXPVARBEAT_HTTP_PORT": str(port)})
        address = "http://localhost:%d/debug/vars" % port
        docs_dir = os.path.join(DATA_DIR, "expvarbeat")

        def documents():
            if not self.daemon.running():
                self.fail("the daemon exited %s:\n%s" % (self.daemon.rc,
                                                          self.daemon.err.decode()[-3000:]))
            docs = []
            for path in glob.glob(os.path.join(docs_dir, "*.ndjson")):
                with open(path, "rb") as f:
                    docs += X.parse_ndjson(f.read(), allow_partial_tail=True)
            return [d for d in docs if X.get(d, "service", "address") == address]

        # Up to max_start_delay (10s) plus one flush.timeout (10s).
        docs = X.wait_until(documents, 40, "a document in %s" % docs_dir)
        self.assertIn(X.get(docs[0], "metricset", "name"), ("expvar", "heap"))
        self.assertNotIn("error", docs[0])
        self.daemon.signal(signal.SIGTERM)
        self.assertTrue(self.daemon.wait(15), "no exit within 15s of SIGTERM")
        self.assertEqual(self.daemon.rc, 0, self.daemon.err.decode()[-3000:])
        for path in glob.glob(os.path.join(docs_dir, "*")):
            st = os.stat(path)
            self.assertEqual(st.st_uid, pw.pw_uid, "%s is not the service user's" % path)

    def check_modules_enable(self):
        """The README's commands for an installed package."""
        r = run(["/usr/bin/expvarbeat", "modules", "enable", "golang", "--path.config", ETC])
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "Enabled golang"), r.stderr)
        self.assertTrue(os.path.isfile(ETC + "/modules.d/golang.yml"))
        r = run(["/usr/bin/expvarbeat", "test", "config", "--path.config", ETC])
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "Config OK"), r.stderr)

    def check_remove_then_purge(self, pw):
        r = run(["dpkg", "-r", PKG])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(dpkg_status(), "config-files")
        self.assertFalse(os.path.exists("/usr/bin/expvarbeat"))
        self.assertFalse(os.path.lexists(WANTS_LINK), "removal left the unit enabled")
        self.assertTrue(os.path.isfile(ETC + "/expvarbeat.yml"), "remove must keep conffiles")

        r = run(["dpkg", "--purge", PKG])
        self.assertEqual(r.returncode, 0, r.stderr)
        # dpkg says modules.d was not empty (the enabled golang.yml, which
        # postrm then removes); any other warning is a defect.
        warnings = [l for l in r.stderr.splitlines() if "warning" in l.lower() and
                    "directory '/etc/expvarbeat/modules.d' not empty" not in l]
        self.assertEqual(warnings, [], r.stderr)
        self.assertEqual(dpkg_status(), "")
        self.assertEqual([p for p in LEFTOVERS if os.path.lexists(p)], [])
        self.assertFalse(user_exists(), "the purge left the user")
        self.assertFalse(group_exists(), "the purge left the group")
        self.assertEqual(processes_of(pw.pw_uid), [])
        state = glob.glob("/var/lib/systemd/deb-systemd-helper-*/**/*expvarbeat*", recursive=True)
        self.assertEqual(state, [], "enablement state left behind")


if __name__ == "__main__":
    unittest.main(verbosity=2)
