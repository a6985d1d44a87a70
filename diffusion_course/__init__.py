"Learn diffusion models by building them: `import diffusion_course as dc`, then `dc.<name>` for every public name."
__version__ = "0.1.0"
# The modules below are imported on first use of a name (`dc.sample`, `from diffusion_course import *`), in this
# order, exactly as if each line ran here: so `diffusion-course --help` answers without importing torch.
_STAR_IMPORTS = """
from .checks import *
from .files import *
from .machine import *
from .data import *
from .emoji import *
from .text import *
from .imageio import *
from .schedules import *
from .blur import *
from .textunet import *
from .model_files import *
from .denoisers import *
from .upsampler import *
from .sampling import *
from .widgets import *
from .edits import *
from .views import *
from .hybrids import *
from .deepfloyd import *
from .lessons import *
from .learner import *
from .unet import *
from .trainer import *
from .records import *
from .release import *
from .reflow import *
from .t2i_train import *
from .t2i_eval import *
from .t2i_publish import *
from .showpieces import *
from .metrics import *
from .tour_base import *
from .tour_a import *
from .tour_b import *
from .tour_page import *
from .tour import *
"""


def _load_all():
    "Run the star-imports above, once: each module's public names become the package's, later modules winning."
    import importlib, re
    g = globals()
    if g.get("_loaded") or g.get("_loading"): return      # done, or a module is asking while it is being imported
    g["_loading"] = True
    try:
        for name in re.findall(r"^from \.(\w+) import \*$", _STAR_IMPORTS, flags=re.M):
            mod = importlib.import_module(f".{name}", __name__)
            g.update({k: getattr(mod, k) for k in getattr(mod, "__all__", [k for k in vars(mod) if k[0] != "_"])})
        g["_loaded"] = True
    finally: g["_loading"] = False


def __getattr__(name):
    if name.startswith("__") and name != "__all__": raise AttributeError(name)
    _load_all()
    if name == "__all__": return [k for k in globals() if not k.startswith("_")]
    if name in globals(): return globals()[name]
    raise AttributeError(f"module 'diffusion_course' has no attribute {name!r}")


def __dir__():
    _load_all()
    return sorted(globals())
