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
