// placeholder until gateway lands
