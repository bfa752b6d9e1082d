"""Stand-ins for DAPPER's optional imports (plotting, progress bars, parallel
maps), so that DAPPER runs from its source on Debian's numpy and scipy alone:
any attribute, call or item of them is an inert object, and tqdm passes its
iterable through. Imported before dapper by the scripts that run DAPPER side
by side with assim (experiments/*/dapper_side_by_side.sh); nothing of DAPPER
is here.
"""
import importlib.abc
import importlib.machinery
import sys
import types

class Inert:
    def __init__(self, *args, **kwargs): pass
    def __call__(self, *args, **kwargs): return Inert()
    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"): raise AttributeError(name)
        return Inert()
    def __getitem__(self, key): return Inert()
    def __setitem__(self, key, value): pass
    def __iter__(self): return iter(())
    def __len__(self): return 0
    def __bool__(self): return False
    def __mro_entries__(self, bases): return (object,)

class Stub(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"): raise AttributeError(name)
        return Inert()

class tqdm:
    def __init__(self, iterable=None, *args, **kwargs): self.iterable = iterable
    def __iter__(self): return iter(self.iterable)
    def __enter__(self): return self
    def __exit__(self, *args): pass
    def update(self, *args, **kwargs): pass
    def close(self): pass
    def set_postfix(self, *args, **kwargs): pass

STUBBED = {"matplotlib", "mpl_tools", "mpl_toolkits", "tabulate", "dill", "threadpoolctl", "pathos", "IPython",
           "ipdb", "tqdm"}

class Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in STUBBED: return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None
    def create_module(self, spec):
        module = Stub(spec.name)
        module.__path__ = []
        return module
    def exec_module(self, module):
        if module.__name__ in ("tqdm", "tqdm.auto"): module.tqdm = tqdm

sys.meta_path.insert(0, Finder())
