"""tests/calls.sh, the file call graph check of `make check-calls`: on
objects compiled here from a few small C files, files calling each
other (directly or round a longer circle) fail it with the circle named,
and a graph without one passes with its summary line."""

import os
import shutil
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
CALLS = os.path.join(HERE, "calls.sh")
CC = os.environ.get("CC", "cc")


class CallsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="lineage-calls-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def objects(self, sources):
        """Compile {name: C source} to objects; their paths, by name."""
        objs = []
        for name, text in sorted(sources.items()):
            c = os.path.join(self.tmp, name + ".c")
            with open(c, "w") as f:
                f.write(text)
            o = os.path.join(self.tmp, name + ".o")
            subprocess.run([CC, "-c", "-o", o, c], check=True)
            objs.append(o)
        return objs

    def calls(self, objs):
        p = subprocess.run(["sh", CALLS, *objs], capture_output=True,
                           text=True)
        return p.returncode, p.stdout + p.stderr

    def circle(self, sources):
        """calls.sh on objects of `sources` must fail; its report."""
        rc, out = self.calls(self.objects(sources))
        self.assertEqual(rc, 1, out)
        self.assertNotIn("no cycle", out)
        return out

    def test_two_files_calling_each_other_fail(self):
        out = self.circle({
            "a": "int b(void);\nint a(void) { return b(); }\n",
            "b": "int a(void);\nint b(void) { return a() + 1; }\n"
                 "int b_alone(void) { return 2; }\n",
        })
        self.assertIn("circle of 2 files", out)
        self.assertIn("a.o <-> ", out)
        self.assertIn("a.o uses b\n", out)
        self.assertIn("b.o uses a\n", out)

    def test_data_use_counts_as_a_call(self):
        # a table read by one file and defined by the other is a use too
        out = self.circle({
            "a": "extern const int tab[];\nint a(void) { return tab[0]; }\n",
            "b": "int a(void);\nconst int tab[] = { 1 };\n"
                 "int b(void) { return a(); }\n",
        })
        self.assertIn("a.o uses tab\n", out)

    def test_a_longer_circle_fails(self):
        # a -> b -> c -> a: no pair calls each other, still a circle
        out = self.circle({
            "a": "int b(void);\nint a(void) { return b(); }\n",
            "b": "int c(void);\nint b(void) { return c(); }\n",
            "c": "int a(void);\nint c(void) { return a(); }\n",
            "d": "int a(void);\nint d(void) { return a(); }\n",
        })
        self.assertIn("circle of 3 files", out)
        self.assertNotIn("<->", out)
        self.assertNotIn("d.o", out)

    def test_layers_pass(self):
        # the shape the query code has: a dispatcher over commands over
        # a shared kit, nothing calling back up
        objs = self.objects({
            "cli": "int cmd(void);\nint kit(void);\n"
                   "int main(void) { return cmd() + kit(); }\n",
            "cmd": "int kit(void);\nint cmd(void) { return kit(); }\n",
            "kit": "#include <stdio.h>\n"
                   "int kit(void) { return puts(\"x\"); }\n",
        })
        rc, out = self.calls(objs)
        self.assertEqual(rc, 0, out)
        self.assertEqual(
            out, "calls: 3 objects, 3 uses (file to file), no cycle\n")

    def test_missing_object_is_an_error(self):
        rc, out = self.calls([os.path.join(self.tmp, "none.o")])
        self.assertEqual(rc, 2, out)
        self.assertIn("no such object", out)


if __name__ == "__main__":
    unittest.main()
