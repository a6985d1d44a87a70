"""Packaging for `diffusion_course`, read from nbdev's `settings.ini` with configparser (no `pkg_resources`)."""
import shlex
from configparser import ConfigParser
from pathlib import Path
from setuptools import find_packages, setup

cfg = ConfigParser(delimiters=["="])
cfg.read(Path(__file__).parent / "settings.ini", encoding="utf-8")
cfg = cfg["DEFAULT"]
req = lambda key: shlex.split(cfg.get(key, ""))
licenses = {"apache2": ("Apache Software License 2.0", "OSI Approved :: Apache Software License")}
statuses = ["1 - Planning", "2 - Pre-Alpha", "3 - Alpha", "4 - Beta", "5 - Production/Stable", "6 - Mature",
            "7 - Inactive"]
py_versions = ["3.10", "3.11", "3.12", "3.13"]
lic = licenses[cfg["license"]]
readme = Path(__file__).parent / "README.md"

setup(
    name=cfg["lib_name"],
    version=cfg["version"],
    description=cfg["description"],
    long_description=readme.read_text(encoding="utf-8") if readme.exists() else "",
    long_description_content_type="text/markdown",
    author=cfg["author"],
    author_email=cfg["author_email"],
    url=cfg["git_url"],
    license=lic[0],
    keywords=cfg["keywords"],
    classifiers=[f"Development Status :: {statuses[int(cfg['status']) - 1]}",
                 f"Intended Audience :: {cfg['audience'].title()}",
                 f"License :: {lic[1]}",
                 f"Natural Language :: {cfg['language'].title()}"]
                + [f"Programming Language :: Python :: {v}" for v in py_versions if v >= cfg["min_python"]],
    python_requires=f">={cfg['min_python']}",
    packages=find_packages(include=["diffusion_course", "diffusion_course.*"]),
    include_package_data=True,
    package_data={"diffusion_course": ["pretrained/*/*", "assets/*", "assets/*/*"]},
    install_requires=req("requirements"),
    extras_require={"dev": req("dev_requirements"), "jupyter": req("jupyter_requirements"),
                    "if": req("if_requirements")},
    entry_points={"console_scripts": cfg.get("console_scripts", "").split(),
                  "nbdev": [f"{cfg['lib_path']}={cfg['lib_path']}._modidx:d"]},
    zip_safe=False,
)
