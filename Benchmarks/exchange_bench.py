#!/usr/bin/env python3
"""FHIR exchange benchmark (issue #12).

1. Bulk Data `$export` of the whole demo registry on SQLite: a clinician granted every site kicks off
   `GET /fhir/$export` (Prefer: respond-async), polls the status URL until the manifest, and the run reports the
   resources written per second (the manifest's counts over the wall time from kick-off to manifest) and the
   server's peak resident memory (VmHWM of the `ossa serve` process, read from /proc, which covers the whole
   process life: start-up, sign-in and the export). Targets: >= 50,000 resources/s, peak < 200 MB.
2. Import of transaction bundles: `--bundles` seeded transaction Bundles of `--bundle-patients` Patients with a
   Condition each (urn:uuid: references) are written to disk; Ossa imports them with one `ossa import` into an
   empty database (all of them or nothing, timed around the process, start-up included), and fhir.resources (PyPI, the peer) parses and
   validates the same files (`Bundle.model_validate_json`), in the same run. Target: Ossa's resources/s >= 10x
   fhir.resources'.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import server_bench as sb  # noqa: E402  (build, demo load, server start are shared)
import analytics_bench as ab  # noqa: E402  (its lead: a clinician granted every site, and its sign-in)

# The importer: a clinician of the Lisbon demo site.
IMPORTER = "demo.clinician1.lis@example.org"


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def bulk_export(ossa, database, export_dir):
    lead = ab.lead_user(ossa, database)
    os.makedirs(export_dir, exist_ok=True)
    env_dir = tempfile.mkdtemp(prefix="ossa-export-", dir=export_dir)
    os.environ["OSSA_EXPORT_DIR"] = env_dir
    server, base = sb.start_server(ossa, database)
    try:
        opener = ab.sign_in(base, lead)
        start = time.perf_counter()
        request = urllib.request.Request(base + "/fhir/$export", headers={"Prefer": "respond-async", "Accept": "application/fhir+json"})
        response = opener.open(request, timeout=60)
        status_url = response.headers["Content-Location"]
        status_path = urllib.parse.urlparse(status_url).path
        manifest = None
        while manifest is None:
            r = opener.open(base + status_path, timeout=60)
            if r.status == 200:
                manifest = json.loads(r.read())
            else:
                sb.log(f"  {r.headers.get('X-Progress', '')}")
                time.sleep(0.5)
        seconds = time.perf_counter() - start
        peak = peak_rss_mb(server.pid)
        resources = sum(f["count"] for f in manifest["output"])
        by_type = {}
        for f in manifest["output"]:
            by_type[f["type"]] = by_type.get(f["type"], 0) + f["count"]
        files = len(manifest["output"])
        return {"seconds": seconds, "resources": resources, "rate": resources / seconds, "peak_mb": peak, "files": files, "by_type": by_type}
    finally:
        sb.stop_server(server)
        import shutil
        shutil.rmtree(env_dir, ignore_errors=True)


def make_bundles(directory, bundles, per_bundle, seed=12):
    rng = random.Random(seed)
    families = ["Example", "Sample", "Testperson", "Placeholder", "Fictional", "Mustermann", "Doe", "Rossi"]
    givens = ["Anna", "Ben", "Clara", "David", "Eva", "Farid", "Grace", "Henrik", "Ines", "Jonas"]
    paths = []
    for b in range(bundles):
        entries = []
        for p in range(per_bundle):
            pid = f"urn:uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}"
            entries.append({"fullUrl": pid, "request": {"method": "POST", "url": "Patient"}, "resource": {
                "resourceType": "Patient",
                "identifier": [{"system": "urn:oid:2.999.12", "value": f"B{b:04d}-{p:05d}"}],
                "managingOrganization": {"identifier": {"system": "https://ossa-registry.org/fhir/NamingSystem/site", "value": "lis"}},
                "name": [{"family": rng.choice(families), "given": [rng.choice(givens)]}],
                "gender": rng.choice(["female", "male"]),
                "birthDate": f"{rng.randint(1935, 1985)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"}})
            entries.append({"fullUrl": f"urn:uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}",
                            "request": {"method": "POST", "url": "Condition"}, "resource": {
                "resourceType": "Condition",
                "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
                "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "M17.11"}]},
                "bodySite": [{"coding": [{"system": "http://snomed.info/sct", "code": "6757004", "display": "Right knee"}]}],
                "subject": {"reference": pid}}})
        path = os.path.join(directory, f"bundle-{b:04d}.json")
        with open(path, "w") as f:
            json.dump({"resourceType": "Bundle", "type": "transaction", "entry": entries}, f)
        paths.append(path)
    return paths


def import_rates(ossa, work, bundles, per_bundle, python):
    directory = os.path.join(work, f"bundles-{bundles}x{per_bundle}")
    os.makedirs(directory, exist_ok=True)
    paths = make_bundles(directory, bundles, per_bundle)
    resources = bundles * per_bundle * 2
    # A small demo registry: its sites and a clinician of Lisbon, who imports.
    database = os.path.join(work, f"import-{uuid.uuid4().hex[:8]}.sqlite")
    subprocess.run([ossa, "demo", "--patients", "10", "--database", database], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # One `ossa import` of all the files, as a clinic imports a folder of bundles (all or nothing, one transaction),
    # timed around the process, start-up included. One process per file would add its start-up and the opening of
    # the store (about 45 ms) per file, which the peer, timed inside its process, does not pay.
    start = time.perf_counter()
    subprocess.run([ossa, "import", *paths, "--database", database, "--as", IMPORTER], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ossa_seconds = time.perf_counter() - start
    peer = subprocess.run([python, "-c", PEER, *paths], check=True, capture_output=True, text=True).stdout
    peer_seconds = float(peer.strip())
    os.remove(database)
    return {"resources": resources, "ossa_seconds": ossa_seconds, "ossa_rate": resources / ossa_seconds,
            "peer_seconds": peer_seconds, "peer_rate": resources / peer_seconds}


# fhir.resources (R4B models): parse and validate each bundle file, timed inside the process (start-up not counted).
PEER = r"""
import sys, time
from fhir.resources.R4B.bundle import Bundle
texts = [open(p).read() for p in sys.argv[1:]]
start = time.perf_counter()
for t in texts:
    Bundle.model_validate_json(t)
print(time.perf_counter() - start)
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--bundles", type=int, default=20)
    parser.add_argument("--bundle-patients", type=int, default=500)
    parser.add_argument("--ossa", help="a release ossa binary (default: build one)")
    parser.add_argument("--python", default=sys.executable, help="a python3 with fhir.resources (installed from PyPI if missing)")
    args = parser.parse_args()
    ossa = args.ossa or sb.build_ossa()
    if subprocess.run([args.python, "-c", "import fhir.resources"], capture_output=True).returncode != 0:
        sb.log("installing fhir.resources==8.3.0 from PyPI ...")
        subprocess.run([args.python, "-m", "pip", "install", "--quiet", "fhir.resources==8.3.0"], check=True)
    data = os.path.join(HERE, ".data")
    os.makedirs(data, exist_ok=True)
    database = os.path.join(data, f"exchange-{args.patients}.sqlite")
    if not os.path.exists(database):
        sb.log(f"loading the {args.patients}-patient demo registry into {database} ...")
        sb.run_demo(ossa, database, args.patients)
    # A registry kept from an earlier version is upgraded first, on its own: the upgrade is a one-off step (an index
    # build reads whole tables), not part of the server's life that the export's peak memory is measured over.
    subprocess.run([ossa, "migrate", "--database", database], check=True, stdout=subprocess.DEVNULL)
    sb.log("$export of the whole registry ...")
    export = bulk_export(ossa, database, os.path.join(data, "exports"))
    sb.log("importing transaction bundles, and fhir.resources on the same files ...")
    imported = import_rates(ossa, data, args.bundles, args.bundle_patients, args.python)
    ratio = imported["ossa_rate"] / imported["peer_rate"]
    print(f"$export, {args.patients} patients: {export['resources']:,} resources in {export['files']} files, {export['seconds']:.1f} s, "
          f"{export['rate']:,.0f} resources/s (target 50,000: {'met' if export['rate'] >= 50_000 else 'NOT met'}); "
          f"server peak {export['peak_mb']:.0f} MB (target < 200: {'met' if export['peak_mb'] < 200 else 'NOT met'})")
    print(f"  by type: {json.dumps(export['by_type'])}")
    print(f"import, {args.bundles} transaction bundles of {args.bundle_patients} patients + conditions ({imported['resources']:,} resources): "
          f"Ossa {imported['ossa_seconds']:.2f} s ({imported['ossa_rate']:,.0f}/s, one ossa import process, start-up included), "
          f"fhir.resources parse + validate {imported['peer_seconds']:.2f} s ({imported['peer_rate']:,.0f}/s): "
          f"{ratio:.1f}x (target 10x: {'met' if ratio >= 10 else 'NOT met'})")
    met = export["rate"] >= 50_000 and export["peak_mb"] < 200 and ratio >= 10
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
