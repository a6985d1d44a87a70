"Learn diffusion models by building them: `import diffusion_course as dc`; every module's public names are available as `dc.<name>`."
__version__ = "0.1.0"
from .checks import *
from .data import *
from .emoji import *
from .text import *
from .imageio import *
from .schedules import *
from .blur import *
from .textunet import *
from .denoisers import *
from .sampling import *
from .widgets import *
from .edits import *
from .views import *
from .hybrids import *
from .deepfloyd import *
from .unet import *
from .trainer import *
from .release import *
from .t2i_train import *
from .t2i_eval import *
