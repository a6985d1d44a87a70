"`python -m diffusion_course` runs the command line."
from diffusion_course.cli import main

if __name__ == "__main__": main()
