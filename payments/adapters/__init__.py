"""Payment providers behind one interface (base.py); `registry.adapter_for(method)` picks a method's adapter."""
