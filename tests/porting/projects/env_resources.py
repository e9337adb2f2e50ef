"""A configurable resource whose secret comes from an environment variable."""

import dagster as dg


class WeatherApi(dg.ConfigurableResource):
    token: str
    city: str = "Utrecht"

    def forecast(self) -> dict:
        return {"city": self.city, "authorized": self.token.startswith("tok-"), "temp": 11}


@dg.asset
def forecast(weather: WeatherApi) -> dict:
    return weather.forecast()


@dg.asset
def headline(forecast: dict) -> str:
    return f"{forecast['temp']} degrees in {forecast['city']}"


defs = dg.Definitions(
    assets=[forecast, headline],
    resources={"weather": WeatherApi(token=dg.EnvVar("WEATHER_TOKEN"), city="Delft")},
)
