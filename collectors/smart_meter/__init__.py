"""Smart meters: Emporia Vue, Sense and Home Assistant sensors -> smart_meter, smart_meter_circuit."""
