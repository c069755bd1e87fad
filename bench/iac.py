"""IaC speed: `guardrails iac check` against checkov on one generated repository of Terraform
files, in one run, and writes bench/RESULTS-iac.md (every number in it comes from this run).

    python bench/iac.py --guardrails BIN --checkov BIN [--files N] [--out FILE]

checkov runs the checks it has for these resources' encryption, as a user restricting it to
them would: CKV_AWS_43 and CKV_AWS_185 (Kinesis), CKV_AWS_149 (Secrets Manager), CKV_AWS_119 and
CKV_AWS_271 (DynamoDB, replicas). Each tool runs on 1 file and on all N; the cost of one more file
is (wall(N) - wall(1)) / (N - 1).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import timed  # noqa: E402  (one way of timing a process for every benchmark)

HERE = Path(__file__).resolve().parent
CHECKS = "CKV_AWS_43,CKV_AWS_185,CKV_AWS_149,CKV_AWS_119,CKV_AWS_271"


def tf_file(i: int) -> str:
    """One module file: a key, a stream, a secret and a table, half of them on AWS defaults."""
    good = i % 2 == 0
    stream_key = "aws_kms_key.k.arn" if good else '"alias/aws/kinesis"'
    secret_key = "  kms_key_id = aws_kms_key.k.arn\n" if good else ""
    table_sse = ("  server_side_encryption {\n    enabled     = true\n    kms_key_arn = aws_kms_key.k.arn\n  }\n"
                 if good else "")
    return f'''resource "aws_kms_key" "k" {{
  description = "key {i}"
}}

resource "aws_kinesis_stream" "s{i}" {{
  name            = "s{i}"
  shard_count     = 1
  encryption_type = "KMS"
  kms_key_id      = {stream_key}
}}

resource "aws_secretsmanager_secret" "c{i}" {{
  name = "c{i}"
{secret_key}}}

resource "aws_dynamodb_table" "t{i}" {{
  name         = "t{i}"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"
  attribute {{
    name = "pk"
    type = "S"
  }}
{table_sse}}}
'''


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--guardrails", required=True)
    ap.add_argument("--checkov", required=True)
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--out", default=str(HERE / "RESULTS-iac.md"))
    a = ap.parse_args()

    work = Path(tempfile.mkdtemp())
    one, many = work / "one", work / "many"
    one.mkdir()
    many.mkdir()
    (one / "main.tf").write_text(tf_file(0))
    for i in range(a.files):
        (many / f"m{i:04}.tf").write_text(tf_file(i))

    ours = lambda d: [a.guardrails, "iac", "check", str(d), "--output", "json"]  # noqa: E731
    theirs = lambda d: [a.checkov, "-d", str(d), "--framework", "terraform", "--check", CHECKS,  # noqa: E731
                        "--output", "json", "--quiet", "--skip-download"]
    rows = {}
    for label, cmd in (("cmk-guardrails", ours), ("checkov", theirs)):
        w1, r1, _ = timed(cmd(one), dict(os.environ))
        wn, rn, out = timed(cmd(many), dict(os.environ))
        rows[label] = (w1, wn, rn, out)
        print(f"{label}: 1 file {w1:.2f} s, {a.files} files {wn:.2f} s, {rn / 1000:.1f} MB", file=sys.stderr)

    denies = sum(1 for f in json.loads(rows["cmk-guardrails"][3]) if f["level"] == "deny")
    report = json.loads(rows["checkov"][3])
    report = report if isinstance(report, list) else [report]
    failed = sum(len(r.get("results", {}).get("failed_checks", [])) for r in report)
    version = subprocess.run([a.checkov, "--version"], capture_output=True, text=True).stdout.strip()

    g, c = rows["cmk-guardrails"], rows["checkov"]
    per_file = lambda r: (r[1] - r[0]) / max(a.files - 1, 1) * 1000  # noqa: E731
    lines = [
        "# IaC check benchmark",
        "",
        f"Measured in one run of `bench/iac.py` on {time.strftime('%Y-%m-%d')}, {platform.machine()}, "
        f"{os.cpu_count()} cores, Linux {platform.release()}: a generated repository of {a.files:,} Terraform "
        "files (a key, a stream, a secret and a table each; every second file on AWS defaults), "
        f"checked by `guardrails iac check` (release build) and by checkov {version} restricted to its checks "
        f"for these services ({CHECKS.replace(',', ', ')}).",
        "",
        "| tool | 1 file | all files | cost of one more file | peak RSS (all files) | findings |",
        "|---|---|---|---|---|---|",
        f"| cmk-guardrails | {g[0]:.2f} s | {g[1]:.2f} s | {per_file(g):.2f} ms | {g[2] / 1000:.1f} MB | {denies:,} deny |",
        f"| checkov | {c[0]:.2f} s | {c[1]:.2f} s | {per_file(c):.2f} ms | {c[2] / 1000:.1f} MB | {failed:,} failed checks |",
        "",
        f"**cmk-guardrails is {c[1] / g[1]:.1f}× faster than checkov on all {a.files:,} files** (goal ≥ 20×: "
        f"{'met' if c[1] / g[1] >= 20 else '**not met**'}) and uses {c[2] / max(g[2], 1):.1f}× less memory "
        f"(`iac check` checks files on all {os.cpu_count()} cores).",
        "",
    ]
    Path(a.out).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
