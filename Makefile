# pyha: convenience targets.  The test command is scripts/run-tests.sh (README.md).

PYTHON ?= python3
RPM_OUTDIR ?= dist/rpm

.PHONY: rpm rpm-el6 rpm-el7 rpm-prepare rpmlint manpage

# Source and noarch RPMs for EL6 and EL7 (packaging/README.md); downloads the bundled
# wheels first if packaging/vendor/ lacks them, then builds offline.
rpm:
	packaging/rpm/build.sh --outdir $(RPM_OUTDIR)

rpm-el6:
	packaging/rpm/build.sh --el 6 --outdir $(RPM_OUTDIR)

rpm-el7:
	packaging/rpm/build.sh --el 7 --outdir $(RPM_OUTDIR)

# Only the network step: download and check the pinned wheels.
rpm-prepare:
	packaging/rpm/build.sh --prepare

rpmlint: rpm
	@set -e; for f in packaging/rpm/pyha.spec $(RPM_OUTDIR)/pyha-*.rpm; do \
	    rpmlint --ignore-unused-rpmlintrc -r packaging/rpm/pyha.rpmlintrc "$$f"; done

# docs/pyha.8 from the command line's help (needs pyha's dependencies importable).
manpage:
	$(PYTHON) packaging/gen-manpage.py -o docs/pyha.8

# heartbeat's own Cluster Test Suite against the lab (issue 17; root): genuine heartbeat,
# then pyha, CTS_ITER iterations with seed CTS_SEED, side by side.  cts-long is the
# acceptance run: 50 iterations with the fixed seed for both, then pyha with three seeds
# CTS picks at random (the report names them).  A failing run keeps its log under
# /var/tmp/pyha-cts.
CTS_ITER ?= 12
CTS_SEED ?= 1

.PHONY: cts cts-long
cts:
	$(PYTHON) -m pyha lab cts --iterations $(CTS_ITER) --seed $(CTS_SEED)

cts-long:
	$(PYTHON) -m pyha lab cts --iterations 50 --seed $(CTS_SEED)
	for run in 1 2 3; do $(PYTHON) -m pyha lab cts --daemon pyha --iterations 50 || exit 1; done
