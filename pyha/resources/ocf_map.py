"""The interface `pyha export pacemaker` asks for (pyha/export/pacemaker_model.py):
heartbeat's standard resource name and arguments -> (OCF agent, parameters), from the
same table the daemon runs them with (`pyha.resources.standard`).  Pure."""

from typing import Dict, Optional, Sequence, Tuple

from pyha.resources import standard


def heartbeat_to_ocf(name, args):
    # type: (str, Sequence[str]) -> Optional[Tuple[str, Dict[str, str]]]
    """(ocf:heartbeat agent, OCF_RESKEY_ names -> values) for a standard name; None for
    any other name; ValueError (`standard.ArgsError`) for arguments heartbeat's wrapper
    refuses."""
    if not standard.is_standard(name):
        return None
    mapped = standard.map_args(name, args)
    return mapped.ocf_type, mapped.reskeys
