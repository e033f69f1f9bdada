"""Physical constants shared by the physics and engine modules (SI units)."""

SPEED_OF_LIGHT_M_PER_S = 299_792_458.0
#: Group index of standard single-mode fibre (SMF-28, 1550 nm): light travels
#: at c / 1.468, about 2.04e8 m/s (Corning SMF-28 datasheet).
FIBRE_GROUP_INDEX = 1.468
SPEED_OF_LIGHT_IN_FIBRE_M_PER_S = SPEED_OF_LIGHT_M_PER_S / FIBRE_GROUP_INDEX
#: Mean Earth radius (IUGG), used for great-circle distances.
EARTH_RADIUS_M = 6_371_008.8
SECONDS_PER_DAY = 86_400.0
