"""The on-screen avatar.

pygame is imported only by :mod:`vitad.avatar.renderer`; everything else here (state,
settings, text wrapping, cards, the view's public API) imports without SDL. Daemon entry
point: :class:`vitad.avatar.view.AvatarView`; headless previews:
:func:`vitad.avatar.screenshot.render_screenshot` and :mod:`vitad.avatar.screenshot_cli`.
"""
