"""The README's export workflow and pipeline example, run as shown: each
"$ " command of a block marked <!-- readme-test: export-workflow --> or
<!-- readme-test: pipeline --> must print what follows it."""

import os
import shlex
import subprocess
import sys

from pyhelpers import PYDIR, ROOT, TmpCase
import wandb_truth

STUB = os.path.join(ROOT, "tests", "stub_wandb")


def blocks(marker):
    """The code blocks that follow `marker` lines in README.md."""
    out, cur, armed = [], None, False
    with open(os.path.join(ROOT, "README.md")) as f:
        for line in f:
            if cur is not None:
                if line.startswith("```"):
                    out.append(cur)
                    cur = None
                else:
                    cur.append(line)
            elif line.startswith("```") and armed:
                cur, armed = [], False
            elif marker in line:
                armed = True
    return out


def commands(block):
    """[(command, expected output)] of a shell block."""
    out = []
    for line in block:
        if line.startswith("$ "):
            out.append([line[2:].rstrip("\n"), ""])
        elif out:
            out[-1][1] += line
    return out


class ReadmeTest(TmpCase):
    def shell(self, block, env):
        for cmd, want in commands(block):
            if cmd.startswith("export "):
                k, _, v = cmd[len("export "):].partition("=")
                env[k] = v
                continue
            argv = shlex.split(cmd)
            while "=" in argv[0]:            # VAR=value cmd ...
                k, _, v = argv.pop(0).partition("=")
                env = dict(env, **{k: v})
            p = subprocess.run(argv, capture_output=True, text=True,
                               env=env, cwd=self.tmp)
            self.assertEqual(p.returncode, 0, "%s: %s" % (cmd, p.stderr))
            self.assertEqual(p.stdout, want, cmd)
        return len(commands(block))

    def env(self):
        # the programs as installed; python3 the one running the tests
        path = os.pathsep.join([os.path.dirname(sys.executable), ROOT,
                                PYDIR, os.environ.get("PATH", "")])
        return dict(os.environ, PATH=path)

    def test_export_workflow(self):
        [block] = blocks("<!-- readme-test: export-workflow -->")
        truth = self.path("truth.json")
        with open(truth, "w") as f:
            import json
            json.dump(wandb_truth.build(
                os.path.join(ROOT, "fixtures", "sample"),
                os.path.join(ROOT, "fixtures", "sample",
                             "expected-edges.csv")), f)
        env = dict(self.env(), PYTHONPATH=STUB, LINEAGE_STUB_WANDB=truth)
        self.assertGreaterEqual(self.shell(block, env), 6)

    def test_pipeline(self):
        code, shell = blocks("<!-- readme-test: pipeline -->")
        with open(self.path("pipeline.py"), "w") as f:
            f.write("".join(code))
        os.symlink(PYDIR, self.path("python"))
        self.assertGreaterEqual(self.shell(shell, self.env()), 3)
