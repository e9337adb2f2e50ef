"""An op job whose ops take typed config."""

import dagster as dg


class GreetingConfig(dg.Config):
    name: str
    excited: bool = False


class RepeatConfig(dg.Config):
    times: int


@dg.op
def greet(config: GreetingConfig) -> str:
    return f"Hello, {config.name}" + ("!" if config.excited else ".")


@dg.op
def repeat(config: RepeatConfig, greeting: str) -> list:
    return [greeting] * config.times


@dg.job
def greeting_job():
    repeat(greet())


defs = dg.Definitions(jobs=[greeting_job])
