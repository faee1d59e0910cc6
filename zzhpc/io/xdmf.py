"""XDMF (v3) descriptions next to HDF5 fields, so ParaView and VisIt open them directly."""

import os

_TEMPLATE = """<?xml version="1.0" ?>
<Xdmf Version="3.0">
 <Domain>
  <Grid Name="series" GridType="Collection" CollectionType="Temporal">
{grids}
  </Grid>
 </Domain>
</Xdmf>
"""


def _grid(entry, shape, spacing, origin=None):
    h5 = entry["file"]
    # XDMF lists dimensions slowest first, as HDF5 stores them; its X is our last axis.
    dims = " ".join(str(n) for n in shape)
    nd = len(shape)
    topo = "3DCoRectMesh" if nd == 3 else "2DCoRectMesh"
    geo = "ORIGIN_DXDYDZ" if nd == 3 else "ORIGIN_DXDY"
    origin = " ".join(f"{o:.17g}" for o in (origin if origin is not None else [0.5 * h for h in spacing]))
    spac = " ".join(f"{h:.17g}" for h in spacing)
    attrs = []
    for name, comps in entry["fields"].items():
        if comps == 1:
            attrs.append(
                f'    <Attribute Name="{name}" AttributeType="Scalar" Center="Node">\n'
                f'     <DataItem Dimensions="{dims}" NumberType="Float" Precision="{entry["precision"]}"'
                f' Format="HDF">{h5}:/fields/{name}</DataItem>\n    </Attribute>'
            )
        else:
            items = "\n".join(
                f'      <DataItem ItemType="HyperSlab" Dimensions="{dims}">\n'
                f'       <DataItem Dimensions="3 {nd + 1}">{c} {" ".join("0" * nd)} 1 {" ".join("1" * nd)} 1 {dims}'
                f'</DataItem>\n'
                f'       <DataItem Dimensions="{comps} {dims}" NumberType="Float" Precision="{entry["precision"]}"'
                f' Format="HDF">{h5}:/fields/{name}</DataItem>\n      </DataItem>'
                # Components in ParaView's x, y, z order (our axes reversed) for a vector.
                for c in (reversed(range(comps)) if comps == nd else range(comps))
            )
            attrs.append(
                f'    <Attribute Name="{name}" AttributeType="Vector" Center="Node">\n'
                f'     <DataItem ItemType="Function" Function="JOIN({", ".join(f"${c}" for c in range(comps))})"'
                f' Dimensions="{dims} {comps}">\n{items}\n     </DataItem>\n    </Attribute>'
            )
    return (
        f'   <Grid Name="t{entry["time"]:.6g}" GridType="Uniform">\n'
        f'    <Time Value="{entry["time"]:.17g}"/>\n'
        f'    <Topology TopologyType="{topo}" Dimensions="{dims}"/>\n'
        f'    <Geometry GeometryType="{geo}">\n'
        f'     <DataItem Dimensions="{nd}" Format="XML">{origin}</DataItem>\n'
        f'     <DataItem Dimensions="{nd}" Format="XML">{spac}</DataItem>\n'
        f'    </Geometry>\n' + "\n".join(attrs) + "\n   </Grid>"
    )


def write_xdmf(path, entries, shape, spacing, origin=None):
    """Write a temporal collection: ``entries`` = ``[{"file", "time", "fields": {name: ncomp}, "precision"}]``.

    Paths in entries are relative to the XDMF file; ``origin`` is the first point (default: cell centres,
    half a cell in). Written atomically (temporary file + rename).
    """
    body = _TEMPLATE.format(grids="\n".join(_grid(e, shape, spacing, origin) for e in entries))
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        fh.write(body)
    os.replace(tmp, path)
