// placeholder until tools lands
