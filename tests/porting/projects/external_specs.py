"""An asset that depends on data made outside (AssetSpec) and on an asset by deps=."""

import dagster as dg

landing_files = dg.AssetSpec(
    "landing_files", group_name="external", description="from an SFTP drop"
)


@dg.asset(deps=[landing_files], group_name="warehouse")
def staged_files() -> None:
    dg.get_dagster_logger().info("staged the landing files")


@dg.asset(deps=[staged_files], group_name="warehouse", key_prefix=["wh"])
def file_index() -> dict:
    return {"files": 2}


defs = dg.Definitions(assets=[landing_files, staged_files, file_index])
